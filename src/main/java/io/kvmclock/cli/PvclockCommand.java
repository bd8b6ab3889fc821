package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "pvclock",
        mixinStandardHelpOptions = true,
        description = "Work with struct pvclock_vcpu_time_info as found in guest memory.",
        subcommands = {PvclockCommand.Decode.class, CommandLine.HelpCommand.class})
final class PvclockCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "decode",
            mixinStandardHelpOptions = true,
            description = {
                "Decode a 32-byte pvclock_vcpu_time_info given as 64 hex digits (guest memory order, little endian),",
                "and with --tsc evaluate the guest's kvmclock at that guest TSC (__pvclock_read_cycles).",
                "Spaces, colons and a leading 0x are ignored, so xxd/hexdump output can be pasted."
            },
            footer = {
                "",
                "Example:",
                "  kvmclock pvclock decode 02000000000000001e937f6f1b0000009a1b5c3e00000000fe4c37c5ff010000 --tsc 0x1c0a3d7f2e"
            })
    static final class Decode implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "HEX", description = "64 hex digits: the 32 bytes of the structure.")
        String hex;

        @Option(names = "--tsc", paramLabel = "N", description = "A guest TSC value (decimal, or hex with 0x).")
        String tsc;

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PvclockTimeInfo p = parse(hex);
            Long tscValue = tsc == null ? null : parseU64(tsc);
            var out = spec.commandLine().getOut();
            if (json) {
                ObjectNode root = Json.object();
                Json.putPvclock(root, p);
                root.put("tscStable", p.tscStable());
                root.put("guestStopped", p.guestStopped());
                root.put("tscHz", p.mul() == 0 ? null : p.scale().toHz());
                if (tscValue != null) {
                    Json.putUnsigned(root, "tsc", tscValue);
                    Json.putUnsigned(root, "kvmclockNs", p.read(tscValue));
                }
                out.println(Json.write(root));
                return ExitCode.OK;
            }
            Table t = new Table();
            t.row("version", Long.toString(p.version()), (p.version() & 1) == 1 ? "ODD: the host was mid-update" : "");
            t.row("tsc_timestamp", Long.toUnsignedString(p.tscTimestamp()), "guest TSC at the reference point");
            t.row("system_time", Long.toUnsignedString(p.systemTime()) + " ns", seconds(p.systemTime()));
            t.row("tsc_to_system_mul", Long.toString(p.mul()), "");
            t.row("tsc_shift", Integer.toString(p.shift()), "");
            t.row("flags", String.format("0x%02x", p.flags()), String.join(" ", PvclockTimeInfo.flagNames(p.flags())));
            t.row("encoded frequency", p.mul() == 0 ? "-" : String.format("%,d Hz", p.scale().toHz()), "hvclock_to_hz");
            if (tscValue != null) {
                t.row("guest TSC", Long.toUnsignedString(tscValue), "");
                t.row("kvmclock", Long.toUnsignedString(p.read(tscValue)) + " ns", seconds(p.read(tscValue)));
            }
            t.print(out);
            return ExitCode.OK;
        }

        private static String seconds(long ns) {
            return String.format("%s.%09d s", Long.toUnsignedString(Long.divideUnsigned(ns, 1_000_000_000L)),
                    Long.remainderUnsigned(ns, 1_000_000_000L));
        }

    }

    static PvclockTimeInfo parse(String text) {
        String h = text.replaceAll("[\\s:]", "");
        if (h.startsWith("0x") || h.startsWith("0X")) {
            h = h.substring(2);
        }
        if (h.length() != PvclockTimeInfo.SIZE * 2) {
            throw UserError.badInput("a pvclock_vcpu_time_info is 32 bytes = 64 hex digits; got " + h.length() + " digits");
        }
        for (int i = 0; i < h.length(); i++) {
            if (Character.digit(h.charAt(i), 16) < 0) {
                throw UserError.badInput("'" + h.charAt(i) + "' at digit " + (i + 1) + " is not a hex digit");
            }
        }
        PvclockTimeInfo p = PvclockTimeInfo.decode(HexFormat.of().parseHex(h));
        if (p.pad0() != 0) {
            throw UserError.badInput(String.format("pad0 (bytes 4-7) is 0x%08x, must be zero: not a pvclock_vcpu_time_info, or the wrong offset", p.pad0()));
        }
        if (p.pad() != 0) {
            throw UserError.badInput(String.format("pad (bytes 30-31) is 0x%04x, must be zero: not a pvclock_vcpu_time_info, or the wrong offset", p.pad()));
        }
        return p;
    }

    static long parseU64(String s) {
        String v = s.trim().replace("_", "");
        try {
            if (v.startsWith("0x") || v.startsWith("0X")) {
                return Long.parseUnsignedLong(v.substring(2), 16);
            }
            return Long.parseUnsignedLong(v);
        } catch (NumberFormatException e) {
            throw UserError.badInput("'" + s + "' is not an unsigned 64-bit number (decimal, or hex with 0x)");
        }
    }
}
