package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.files.AtomicFiles;
import io.kvmclock.hv.HvException;
import io.kvmclock.scenario.Scenario;
import io.kvmclock.scenario.ScenarioRunner;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "simulate",
        mixinStandardHelpOptions = true,
        description = {
            "Run a clock scenario on the embedded KVM model and show every step the guest's kvmclock takes.",
            "",
            "Run a scenario (JSON) on the embedded KVM clock model and print the clock events the guest sees: "
                    + "master clock re-references, kexec/migration restores, TSC writes, with the size of each step "
                    + "(negative = the guest clock went backwards). Deterministic: the same file gives the same output.",
            "The format is documented in io.kvmclock.scenario.Scenario; examples are in scenarios/."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock simulate scenarios/kexec-live-update.json",
            "  kvmclock simulate scenarios/hotplug-long-run.json --report out/",
            "      (writes out/hotplug-long-run.html)"
        })
final class SimulateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The scenario file (JSON).")
    Path file;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Option(names = "--report", paramLabel = "DIR", description = "Also write DIR/<name>.html with an SVG chart of kvmclock minus true time.")
    Path reportDir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (Files.isDirectory(file)) {
            throw UserError.badInput(file + " is a folder: give a scenario file (JSON), e.g. scenarios/kexec-live-update.json");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw UserError.badInput(file + " is not a regular file (a device, pipe or socket): give a scenario file (JSON)");
        }
        if (reportDir != null && reportDir.toString().isEmpty()) {
            throw UserError.badInput("--report needs a folder name (got an empty path)");
        }
        Scenario scenario;
        try (InputStream in = Files.newInputStream(file)) {
            scenario = Scenario.parse(in, file.toString());
        } catch (NoSuchFileException e) {
            throw UserError.badInput("scenario file " + file + " does not exist");
        } catch (Scenario.ScenarioException e) {
            throw UserError.badInput(e.source().isPresent() ? e.getMessage() : file + ": " + e.getMessage());
        }
        Path page = reportDir == null ? null : reportPage(scenario);
        PrintWriter err = spec.commandLine().getErr();
        err.println("simulating " + scenario.name() + " (" + Units.seconds(scenario.durationNs()) + " of host time) ...");
        err.flush();
        ScenarioRunner.Result r;
        try {
            r = ScenarioRunner.run(scenario);
        } catch (Scenario.ScenarioException e) {
            throw UserError.badInput(file + ": " + e.getMessage());
        } catch (HvException e) {
            throw new UserError(ExitCode.FAILURE, file + ": the scenario made the model refuse a call: " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(toJson(r)));
        } else {
            print(r, out);
        }
        out.flush();
        if (page != null) {
            try {
                Files.createDirectories(reportDir);
                AtomicFiles.write(page, SimReport.html(r));
            } catch (IOException e) {
                throw Inputs.unwritten("report", page, e, "");
            }
            err.println("report: " + page);
        }
        return ExitCode.OK;
    }

    private static final class Units {
        static String seconds(long ns) {
            return BigDecimal.valueOf(ns, 9).stripTrailingZeros().toPlainString() + " s";
        }
    }

    private static void print(ScenarioRunner.Result r, PrintWriter out) {
        out.println("scenario " + r.scenario().name() + ": " + r.scenario().description());
        out.println();
        out.printf("%16s  %-16s %4s %14s  %s%n", "at (s)", "event", "vcpu", "step (ns)", "detail");
        for (ScenarioRunner.ClockEvent e : r.events()) {
            out.printf("%16s  %-16s %4d %14d  %s%s%n", Units.seconds(e.atNs()).replace(" s", ""), e.kind(), e.vcpu(),
                    e.stepNs(), e.backwards() ? "BACKWARDS " : "", e.detail());
        }
        long steps = r.steps().size();
        long back = r.steps().stream().filter(ScenarioRunner.ClockEvent::backwards).count();
        long largest = r.steps().stream().mapToLong(e -> Math.abs(e.stepNs())).max().orElse(0);
        long last = r.samples().isEmpty() ? 0 : r.samples().getLast().offsetNs();
        out.println();
        out.println("steps: " + steps + " (" + back + " backwards), largest |step| " + largest + " ns, master clock references "
                + r.references() + ", kvmclock - true time at the end " + last + " ns");
    }

    private static ObjectNode toJson(ScenarioRunner.Result r) {
        ObjectNode root = Json.object();
        root.put("scenario", r.scenario().name());
        root.put("seed", r.scenario().seed());
        root.put("durationNs", r.scenario().durationNs());
        ArrayNode evs = root.putArray("events");
        for (ScenarioRunner.ClockEvent e : r.events()) {
            ObjectNode o = evs.addObject();
            o.put("atNs", e.atNs());
            o.put("kind", e.kind());
            o.put("vcpu", e.vcpu());
            o.put("stepNs", e.stepNs());
            o.put("backwards", e.backwards());
            o.put("detail", e.detail());
        }
        ObjectNode sum = root.putObject("summary");
        sum.put("steps", r.steps().size());
        sum.put("backwardsSteps", r.steps().stream().filter(ScenarioRunner.ClockEvent::backwards).count());
        sum.put("largestAbsStepNs", r.steps().stream().mapToLong(e -> Math.abs(e.stepNs())).max().orElse(0));
        sum.put("references", r.references());
        sum.put("finalOffsetNs", r.samples().isEmpty() ? 0 : r.samples().getLast().offsetNs());
        ArrayNode s = root.putArray("samples");
        for (ScenarioRunner.Sample x : r.samples()) {
            s.addArray().add(x.atNs()).add(x.offsetNs());
        }
        return root;
    }

    /** DIR/<name>.html, checked before the run: DIR is a folder (or can be made in an existing one) that takes a file. */
    private Path reportPage(Scenario scenario) {
        String safe = scenario.name().replaceAll("[^A-Za-z0-9._-]", "_");
        if (Files.exists(reportDir) && !Files.isDirectory(reportDir)) {
            throw UserError.badInput("--report " + reportDir + " is a file, not a folder: give a folder name");
        }
        Path page = reportDir.resolve(safe + ".html");
        try {
            AtomicFiles.checkWritable(Files.isDirectory(reportDir) ? page : reportDir);
        } catch (IOException e) {
            throw Inputs.cannotWrite("--report", reportDir, e);
        }
        return page;
    }
}
