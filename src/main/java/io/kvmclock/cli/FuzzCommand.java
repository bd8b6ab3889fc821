package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.fuzz.Fuzzer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "fuzz",
        mixinStandardHelpOptions = true,
        description = {
            "Mutation-fuzz what kvmclock reads from files and count how each input ended.",
            "",
            "Each input is a valid seed (a state file, a scenario, a live-update",
            "hand-over) with a few random edits; a state whose payload was edited gets",
            "its CRC recomputed half the time, so the field checks are reached. Every",
            "input must be accepted or rejected with the decoder's own reason; anything",
            "else (another exception) counts as 'other', is shown, and exits 1."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock fuzz --format state --inputs 1000000",
            "  kvmclock fuzz --format scenario --inputs 1000000 --seeds scenarios --json",
            "  kvmclock fuzz --format handover --inputs 100000 --seed 7"
        })
final class FuzzCommand implements Callable<Integer> {

    @Option(names = "--format", required = true, paramLabel = "F", description = "state, scenario or handover.")
    Fuzzer.Format format;

    @Option(names = "--inputs", defaultValue = "100000", paramLabel = "N", description = "Inputs to try, 1 to 10^9 (default ${DEFAULT-VALUE}).")
    long inputs;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "S", description = "Random seed: the same seed tries the same inputs (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--seeds", defaultValue = "scenarios", paramLabel = "DIR",
            description = "Scenario files to start from (*.json; default ${DEFAULT-VALUE}; a built-in one where DIR has none).")
    Path seedDir;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (inputs < 1 || inputs > 1_000_000_000L) {
            throw UserError.badInput("--inputs " + inputs + " is out of range: 1 to 1000000000");
        }
        List<byte[]> scenarios = new ArrayList<>();
        if (format == Fuzzer.Format.scenario && Files.isDirectory(seedDir)) {
            try (Stream<Path> s = Files.list(seedDir)) {
                for (Path p : s.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                    scenarios.add(Files.readAllBytes(p));
                }
            }
        }
        Fuzzer f = new Fuzzer(format, scenarios);
        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        Fuzzer.Counts c = f.run(inputs, seed, done -> {
            err.printf("fuzz %s: %,d / %,d inputs (%.0f s)%n", format, done, inputs, (System.nanoTime() - t0) / 1e9);
            err.flush();
        });
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            root.put("format", format.name());
            root.put("inputs", c.inputs());
            root.put("seed", seed);
            root.put("seeds", f.seedCount());
            root.put("accepted", c.accepted());
            root.put("rejected", c.rejectedTotal());
            ObjectNode by = root.putObject("rejectedByReason");
            c.rejected().forEach(by::put);
            root.put("other", c.other());
            c.otherExamples().forEach(root.putArray("otherExamples")::add);
            out.println(Json.write(root));
        } else {
            out.printf("fuzz %s: %,d inputs from %d seed(s), random seed %d%n", format, c.inputs(), f.seedCount(), seed);
            out.printf("  accepted  %,12d%n  rejected  %,12d%n  other     %,12d%s%n", c.accepted(), c.rejectedTotal(), c.other(),
                    c.other() == 0 ? "" : "   <- bugs: an input ended in neither");
            out.println("rejected by reason:");
            c.rejected().entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .forEach(e -> out.printf("  %,12d  %s%n", e.getValue(), Inputs.printable(e.getKey())));
            for (String o : c.otherExamples()) {
                out.println("other: " + Inputs.printable(o));
            }
        }
        out.flush();
        return c.other() == 0 ? ExitCode.OK : ExitCode.FAILURE;
    }
}
