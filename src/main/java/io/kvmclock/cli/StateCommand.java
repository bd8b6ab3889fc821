package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.FormatVersion;
import io.kvmclock.state.GuestPvclock;
import io.kvmclock.state.SampleState;
import io.kvmclock.state.ScaleReading;
import io.kvmclock.state.StateFile;
import io.kvmclock.state.StateFormat;
import io.kvmclock.state.StateFormatException;
import io.kvmclock.state.VcpuClockState;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscRate;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "state",
        mixinStandardHelpOptions = true,
        description = {
            "Inspect saved guest clock state files (magic KVMCLKST).",
            "A state file is what a VMM carries across a live update or migration",
            "so that the guest keeps its TSC and kvmclock."
        },
        subcommands = {StateCommand.Show.class, StateCommand.Sample.class, CommandLine.HelpCommand.class},
        footer = {"", "Example:", "  kvmclock state sample /tmp/g.kvmclk && kvmclock state show /tmp/g.kvmclk"})
final class StateCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "show",
            mixinStandardHelpOptions = true,
            description = {
                "Validate a clock state file and print what it holds.",
                "Shows the capture, the source host, KVM_GET_CLOCK with its flags named,",
                "and per vCPU the TSC and the pvclock decoded with the frequency it",
                "encodes. A bad file is reported in one line naming the problem (exit 2)."
            },
            footer = {
                "",
                "Examples:",
                "  kvmclock state sample /tmp/g.kvmclk && kvmclock state show /tmp/g.kvmclk",
                "  kvmclock state show /tmp/g.kvmclk --json"
            })
    static final class Show implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "FILE", description = "A clock state file.")
        Path file;

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            ClockState s = load(file);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(Json.write(toJson(s)));
            } else {
                printText(out, file, s);
            }
            out.flush();
            return ExitCode.OK;
        }
    }

    @Command(name = "sample",
            mixinStandardHelpOptions = true,
            description = {
                "Write a SYNTHETIC clock state file to try 'state show' without KVM.",
                "The numbers are realistic and self-consistent (master clock on, guest TSCs",
                "from 0 at vCPU creation) but no guest is behind them, and the file says",
                "so. The file is written atomically."
            },
            footer = {
                "",
                "Examples:",
                "  kvmclock state sample /tmp/g.kvmclk",
                "  kvmclock state sample /tmp/s.kvmclk --vcpus 4 --guest-tsc-khz 2GHz --force",
                "  kvmclock state sample /tmp/old.kvmclk --format 1.0   (for an older reader)"
            })
    static final class Sample implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "FILE", description = "Where to write it.")
        Path file;

        @Option(names = "--vcpus", paramLabel = "N", defaultValue = "2", description = "vCPUs, 1..4096 (default ${DEFAULT-VALUE}).")
        int vcpus;

        @Option(names = "--tsc-khz", paramLabel = "FREQ", converter = FrequencyConverter.class, defaultValue = "2596138",
                description = "Host TSC frequency (default ${DEFAULT-VALUE} kHz).")
        long hostKhz;

        @Option(names = "--guest-tsc-khz", paramLabel = "FREQ", converter = FrequencyConverter.class,
                description = "Guest TSC frequency; beyond 250 ppm of the host it uses VMX scaling (default: the host's).")
        Long guestKhz;

        @Option(names = "--format", paramLabel = "VERSION", defaultValue = "1.2",
                description = "Format version to write: 1.0, 1.1 or 1.2 (default ${DEFAULT-VALUE}; 1.1 drops the "
                        + "KVM_VCPU_TSC_SCALE readings, 1.0 the capabilities too).")
        String format;

        @Option(names = "--force", description = "Replace FILE if it exists.")
        boolean force;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            if (vcpus < 1 || vcpus > ClockState.MAX_VCPUS) {
                throw UserError.badInput("--vcpus " + vcpus + " is outside 1.." + ClockState.MAX_VCPUS);
            }
            FormatVersion target = switch (format.trim()) {
                case "1.0" -> new FormatVersion(1, 0);
                case "1.1" -> new FormatVersion(1, 1);
                case "1.2" -> new FormatVersion(1, 2);
                default -> throw UserError.badInput("--format " + format + " is not one this build writes (1.0, 1.1 or 1.2)");
            };
            if (Files.exists(file) && !Files.isDirectory(file) && !force) {
                throw UserError.badInput(file + " exists: use --force to replace it");
            }
            Inputs.outputFile("state sample", file);
            ClockState s = SampleState.create(vcpus, hostKhz, guestKhz == null ? hostKhz : guestKhz);
            try {
                StateFile.writeEncoded(file, StateFormat.encode(s, target));
            } catch (IOException e) {
                throw new UserError(ExitCode.FAILURE, "cannot write " + file + ": " + Inputs.reason(e), e);
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("wrote a SYNTHETIC clock state (" + vcpus + " vCPU" + (vcpus == 1 ? "" : "s") + ", format "
                    + target + ") to " + file);
            out.flush();
            return ExitCode.OK;
        }
    }

    static ClockState load(Path file) {
        try {
            return StateFile.read(file);
        } catch (NoSuchFileException e) {
            throw UserError.badInput(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw UserError.badInput(file + ": permission denied");
        } catch (StateFile.NotRegularFileException e) {
            throw UserError.badInput(Inputs.printable(e.getMessage()));
        } catch (StateFormatException e) {
            throw new UserError(ExitCode.BAD_INPUT, file + ": " + e.getMessage(), e);
        } catch (IOException e) {
            String why = Files.isDirectory(file) ? "is a directory, not a state file" : e.getMessage();
            throw new UserError(ExitCode.BAD_INPUT, file + ": " + why, e);
        }
    }

    // ---- JSON ----

    static ObjectNode toJson(ClockState s) {
        ObjectNode root = Json.object();
        root.putObject("format").put("major", s.format().major()).put("minor", s.format().minor());
        root.put("synthetic", s.capture().kind() == CaptureKind.SYNTHETIC);
        ObjectNode cap = root.putObject("capture");
        cap.put("kind", s.capture().kind().name().toLowerCase(Locale.ROOT));
        Json.putUnsigned(cap, "hostTsc", s.capture().at().tsc());
        Json.putUnsigned(cap, "monotonicRawNs", s.capture().at().monotonicRawNs());
        cap.put("realtimeNs", s.capture().at().realtimeNs());

        ObjectNode host = root.putObject("host");
        host.put("bootId", s.host().bootId());
        host.put("kernel", s.host().kernel());
        host.put("kvmApiVersion", s.host().kvmApiVersion());
        host.put("tscKhz", s.host().tscKhz());
        host.put("clocksource", s.host().clocksource());
        if (s.capabilities().isPresent()) {
            ClockCapabilities c = s.capabilities().get();
            host.putObject("capabilities")
                    .put("adjustClockFlags", Integer.toUnsignedLong(c.adjustClockFlags()))
                    .put("tscControl", c.tscControl())
                    .put("vmTscControl", c.vmTscControl())
                    .put("kvmclockCtrl", c.kvmclockCtrl())
                    .put("vcpuAttributes", c.vcpuAttributes())
                    .put("clockGuest", c.clockGuest());
        } else {
            host.putNull("capabilities");
        }

        ObjectNode clock = root.putObject("clock");
        Json.putUnsigned(clock, "clock", s.clock().clock());
        clock.put("flags", Integer.toUnsignedLong(s.clock().flags()));
        ArrayNode names = clock.putArray("flagNames");
        ClockData.flagNames(s.clock().flags()).forEach(names::add);
        Json.putUnsigned(clock, "realtime", s.clock().realtime());
        Json.putUnsigned(clock, "hostTsc", s.clock().hostTsc());
        root.put("masterClock", s.masterClock());

        ArrayNode vcpus = root.putArray("vcpus");
        for (VcpuClockState v : s.vcpus()) {
            ObjectNode n = vcpus.addObject();
            n.put("id", v.id());
            Json.putUnsigned(n, "tscOffset", v.tscOffset());
            Json.putUnsigned(n, "guestTsc", v.guestTsc());
            n.put("tscKhz", v.tscKhz());
            ObjectNode sc = n.putObject("scaling");
            switch (v.scaling()) {
                case TscRate.Unscaled none -> sc.put("kind", "none").putNull("ratio").putNull("fracBits");
                case TscRate.Scaled h -> {
                    sc.put("kind", h.scaling().name().toLowerCase(Locale.ROOT));
                    Json.putUnsigned(sc, "ratio", h.ratio());
                    sc.put("fracBits", h.scaling().fracBits());
                }
            }
            switch (v.kernelScale()) {
                case ScaleReading.NotRead none -> n.putNull("kernelScale");
                case ScaleReading.FromKernel k -> Json.putUnsigned(n.putObject("kernelScale"), "tscRatio", k.scale().tscRatio())
                        .put("tscFracBits", k.scale().tscFracBits());
            }
            switch (v.pvclock()) {
                case GuestPvclock.NotEnabled none -> n.putNull("pvclock");
                case GuestPvclock.Captured c -> {
                    PvclockTimeInfo p = c.pvclock();
                    ObjectNode pn = n.putObject("pvclock");
                    pn.put("source", sourceName(c.source()));
                    Json.putPvclock(pn, p);
                    ArrayNode pf = pn.putArray("flagNames");
                    PvclockTimeInfo.flagNames(p.flags()).forEach(pf::add);
                    pn.put("tscHz", p.scale().toHz());
                    Json.putUnsigned(pn, "kvmclockAtGuestTscNs", p.read(v.guestTsc()));
                }
            }
        }
        return root;
    }

    // ---- text ----

    static void printText(PrintWriter out, Path file, ClockState s) {
        FormatVersion cur = FormatVersion.CURRENT;
        out.println("Clock state " + Inputs.printable(file.toString()));
        if (s.capture().kind() == CaptureKind.SYNTHETIC) {
            out.println("SYNTHETIC: made by 'kvmclock state sample'; no real guest or host behind these numbers.");
        }
        out.println();
        Table t = new Table();
        String fmtNote = s.format().compareTo(cur) < 0 ? "older minor: fields added later are unknown"
                : s.format().compareTo(cur) > 0 ? "newer minor: fields added after " + cur + " were skipped" : "";
        t.row("format", s.format().toString(), fmtNote);
        t.row("capture kind", s.capture().kind().name().toLowerCase(Locale.ROOT).replace('_', ' '), "");
        t.row("host TSC", Long.toUnsignedString(s.capture().at().tsc()), "at capture");
        t.row("monotonic raw", Long.toUnsignedString(s.capture().at().monotonicRawNs()) + " ns",
                seconds(s.capture().at().monotonicRawNs()));
        t.row("realtime", s.capture().at().realtimeNs() + " ns", iso(s.capture().at().realtimeNs()));
        t.print(out);

        out.println();
        out.println("Host");
        t = new Table();
        // Strings from the file are escaped: a crafted file must not drive the terminal (issue 13).
        t.row("boot id", s.host().bootId().isEmpty() ? "(unknown)" : Inputs.printable(s.host().bootId()), "");
        t.row("kernel", Inputs.printable(s.host().kernel()), "");
        t.row("KVM API", Integer.toString(s.host().kvmApiVersion()), "");
        t.row("tsc_khz", String.format("%,d kHz", s.host().tscKhz()), "");
        t.row("clocksource", Inputs.printable(s.host().clocksource()), "");
        t.row("capabilities", s.capabilities().map(StateCommand::capNames).orElse("unknown"),
                s.capabilities().isEmpty() ? "not recorded before format 1.1" : "");
        t.print(out);

        out.println();
        out.println("KVM_GET_CLOCK");
        ClockData c = s.clock();
        t = new Table();
        t.row("clock", Long.toUnsignedString(c.clock()) + " ns", seconds(c.clock()));
        t.row("flags", String.format("0x%x", c.flags()), String.join(" ", ClockData.flagNames(c.flags())));
        t.row("realtime", Long.toUnsignedString(c.realtime()) + " ns",
                c.has(ClockData.REALTIME) ? iso(c.realtime()) : "not valid (REALTIME clear)");
        t.row("host_tsc", Long.toUnsignedString(c.hostTsc()), c.has(ClockData.HOST_TSC) ? "" : "not valid (HOST_TSC clear)");
        t.row("master clock", s.masterClock() ? "on" : "off", s.masterClock()
                ? "kvmclock is an exact function of each guest TSC"
                : "no master clock: kvmclock follows the host raw clock, not the guest TSC");
        t.print(out);

        out.println();
        out.println("vCPU TSC");
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"vcpu", "tsc_khz", "scaling", "ratio", "ratio from", "TSC offset", "guest TSC"});
        for (VcpuClockState v : s.vcpus()) {
            String kind;
            String ratio;
            switch (v.scaling()) {
                case TscRate.Unscaled n -> {
                    kind = "none";
                    ratio = "-";
                }
                case TscRate.Scaled h -> {
                    kind = h.scaling().name() + " (" + h.scaling().fracBits() + " frac bits)";
                    ratio = String.format("0x%x", h.ratio());
                }
            }
            String from = switch (v.kernelScale()) {
                case ScaleReading.NotRead none -> "computed";
                case ScaleReading.FromKernel k -> "KVM_VCPU_TSC_SCALE";
            };
            rows.add(new String[] {Integer.toString(v.id()), String.format("%,d", v.tscKhz()), kind, ratio, from,
                    Long.toString(v.tscOffset()), Long.toUnsignedString(v.guestTsc())});
        }
        columns(out, rows);

        out.println();
        out.println("vCPU pvclock (as the guest sees it)");
        rows = new ArrayList<>();
        rows.add(new String[] {"vcpu", "source", "version", "tsc_timestamp", "system_time ns", "mul", "shift", "flags",
                "encodes Hz", "kvmclock at guest TSC"});
        for (VcpuClockState v : s.vcpus()) {
            switch (v.pvclock()) {
                case GuestPvclock.NotEnabled n -> rows.add(new String[] {Integer.toString(v.id()), "not enabled",
                        "-", "-", "-", "-", "-", "-", "-", "-"});
                case GuestPvclock.Captured cp -> {
                    PvclockTimeInfo p = cp.pvclock();
                    long hz = p.scale().toHz();
                    String hzText = String.format("%,d", hz);
                    if (Math.abs(hz - v.tscKhz() * 1000) > 1000) {
                        hzText += " (!= tsc_khz)";
                    }
                    rows.add(new String[] {Integer.toString(v.id()), sourceName(cp.source()), Long.toString(p.version()),
                            Long.toUnsignedString(p.tscTimestamp()), Long.toUnsignedString(p.systemTime()),
                            Long.toString(p.mul()), Integer.toString(p.shift()),
                            String.format("0x%02x %s", p.flags(), String.join(" ", PvclockTimeInfo.flagNames(p.flags()))).trim(),
                            hzText, Long.toUnsignedString(p.read(v.guestTsc())) + " ns"});
                }
            }
        }
        columns(out, rows);
        out.flush();
    }

    /** Columns: the first left-aligned, the others right-aligned, two spaces apart. */
    private static void columns(PrintWriter out, List<String[]> rows) {
        int n = rows.getFirst().length;
        int[] w = new int[n];
        for (String[] r : rows) {
            for (int i = 0; i < n; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    b.append("  ");
                }
                b.append(String.format("%" + (i == 0 ? "-" : "") + w[i] + "s", r[i]));
            }
            out.println(b.toString().stripTrailing());
        }
    }

    private static String capNames(ClockCapabilities c) {
        List<String> n = new ArrayList<>();
        n.add(String.format("ADJUST_CLOCK 0x%x", c.adjustClockFlags()));
        if (c.tscControl()) {
            n.add("TSC_CONTROL");
        }
        if (c.vmTscControl()) {
            n.add("VM_TSC_CONTROL");
        }
        if (c.kvmclockCtrl()) {
            n.add("KVMCLOCK_CTRL");
        }
        if (c.vcpuAttributes()) {
            n.add("VCPU_ATTRIBUTES");
        }
        if (c.clockGuest()) {
            n.add("CLOCK_GUEST");
        }
        return String.join(", ", n);
    }

    private static String sourceName(GuestPvclock.Source s) {
        return switch (s) {
            case KVM_GET_CLOCK_GUEST -> "KVM_GET_CLOCK_GUEST";
            case GUEST_MEMORY -> "guest memory";
        };
    }

    private static String seconds(long ns) {
        return String.format("%s.%09d s", Long.toUnsignedString(Long.divideUnsigned(ns, 1_000_000_000L)),
                Long.remainderUnsigned(ns, 1_000_000_000L));
    }

    private static String iso(long epochNs) {
        return Instant.ofEpochSecond(Math.floorDiv(epochNs, 1_000_000_000L), Math.floorMod(epochNs, 1_000_000_000L)).toString();
    }
}
