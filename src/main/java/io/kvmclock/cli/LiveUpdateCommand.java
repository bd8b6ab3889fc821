package io.kvmclock.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.LiveUpdate;
import io.kvmclock.demo.TrialResult;
import io.kvmclock.drift.Durations;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.restore.RestoreMethod;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "live-update",
        mixinStandardHelpOptions = true,
        description = {
            "A VMM live update across two processes on real KVM, measured from the guest.",
            "",
            "This JVM runs the clock guest with its memory",
            "in a file under /dev/shm, pauses it and writes the hand-over (clock state, vCPU state); a second JVM",
            "maps the same memory, restores the clocks with the chosen method and resumes the same guest. Prints",
            "what the guest saw: kvmclock error against the saved function, TSC error, guest vs host time, restore time."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock live-update",
            "  kvmclock live-update --method documented --json",
            "  kvmclock live-update --keep /tmp/handoff    (keep the hand-over files to inspect: kvmclock state show /tmp/handoff/clock.kvmclk)"
        })
final class LiveUpdateCommand implements Callable<Integer> {

    @Option(names = "--method", defaultValue = "precise", paramLabel = "M",
            description = "Restore method the new process uses (default ${DEFAULT-VALUE}).")
    String method;

    @Mixin
    RestoreOptions restore;

    @Option(names = "--run", defaultValue = "200ms", paramLabel = "D", description = "How long the guest runs before the update (default ${DEFAULT-VALUE}).")
    String run;

    @Option(names = "--keep", paramLabel = "DIR", description = "Write the hand-over to DIR and keep it.")
    Path keep;


    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Option(names = "--warm-up", defaultValue = "0", paramLabel = "N",
            description = "Scratch live updates the new process runs before it reports ready (default ${DEFAULT-VALUE}: it prepares"
                    + " the destination VM and rehearses the restore there instead; 100 was the old warm-up).")
    int warmUp;

    @Option(names = "--take-over", hidden = true, paramLabel = "DIR")
    Path takeOver;

    @Option(names = "--memory", hidden = true, paramLabel = "FILE")
    Path takeOverMemory;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        RestoreMethod m = restore.method(method);
        if (warmUp < 0 || warmUp > 100_000) {
            throw UserError.badInput("--warm-up " + warmUp + " is out of range: 0 to 100000");
        }
        if (takeOver != null) {
            return takeOver(m);
        }
        long runNs;
        try {
            runNs = Durations.parseNs(run);
        } catch (IllegalArgumentException e) {
            throw UserError.badInput("--run " + e.getMessage());
        }
        Path dir = keep != null ? keep : Files.createTempDirectory("kvmclock-live-update");
        Path memory = Path.of("/dev/shm", "kvmclock-live-update-" + ProcessHandle.current().pid() + ".mem");
        PrintWriter err = spec.commandLine().getErr();
        try (Hypervisor hv = Backends.open()) {
            // As a VMM upgrade does it: the new process starts and warms up while the old one still runs the
            // guest; the blackout begins only when the new one is ready.
            Process next = startNewProcess(dir, memory, m);
            err.println("live-update: new process " + next.pid() + " started, warming up its restore path");
            JsonNode child;
            try (BufferedReader fromNext = next.inputReader(StandardCharsets.UTF_8);
                 PrintWriter toNext = new PrintWriter(next.outputWriter(StandardCharsets.UTF_8), true)) {
                String ready = fromNext.readLine();
                if (!READY.equals(ready)) {
                    next.destroy();
                    throw new UserError(ExitCode.FAILURE, "the new process did not get ready (it said " + ready + ")");
                }
                err.println("live-update: old process " + ProcessHandle.current().pid() + " runs the guest on " + memory);
                ClockGuest guest = LiveUpdate.handOver(hv, dir, memory, runNs);
                try {
                    err.println("live-update: guest paused, hand-over in " + dir + "; the new process takes over");
                    toNext.println(GO);
                    child = readResult(next, fromNext);
                } finally {
                    guest.vm().close();
                }
            }
            print(child, dir);
            return child.path("result").path("failure").isMissingNode() || child.path("result").path("failure").isNull()
                    ? ExitCode.OK : ExitCode.FAILURE;
        } finally {
            Files.deleteIfExists(memory);
            if (keep == null) {
                deleteTree(dir);
            }
        }
    }

    static final String READY = "ready";
    static final String GO = "go";
    /** Set by ./kvmclock to the ahead-of-time cache this JVM uses: the new process starts from it too. */
    static final String AOT_CACHE_PROPERTY = "kvmclock.aotCache";

    private Process startNewProcess(Path dir, Path memory, RestoreMethod m) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        String aot = System.getProperty(AOT_CACHE_PROPERTY);
        if (aot != null && Files.isRegularFile(Path.of(aot))) {
            cmd.addAll(List.of("-XX:AOTCache=" + aot, "-D" + AOT_CACHE_PROPERTY + "=" + aot));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "live-update",
                "--take-over", dir.toString(), "--memory", memory.toString(), "--warm-up", Integer.toString(warmUp),
                "--method", m.name()));
        cmd.addAll(restore.asArguments());
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static JsonNode readResult(Process p, BufferedReader fromNext) throws IOException, InterruptedException {
        StringBuilder b = new StringBuilder();
        for (String line; (line = fromNext.readLine()) != null; ) {
            b.append(line).append('\n');
        }
        String out = b.toString();
        int code = p.waitFor();
        if (out.isBlank()) {
            throw new UserError(ExitCode.FAILURE, "the new process exited with " + code + " and reported nothing");
        }
        return new ObjectMapper().readTree(out);
    }

    private static long parentCheckedAt = System.nanoTime();

    /** GO is waiting on stdin, or the old process is gone (then readLine sees the end and says so). */
    private static boolean handOverOrParentGone() {
        try {
            if (System.in.available() > 0) {
                return true;
            }
        } catch (IOException e) {
            return true;
        }
        if (System.nanoTime() - parentCheckedAt < 50_000_000L) {
            return false;
        }
        parentCheckedAt = System.nanoTime();
        return !ProcessHandle.current().parent().map(ProcessHandle::isAlive).orElse(false);
    }

    private int takeOver(RestoreMethod m) throws IOException {
        try (Hypervisor hv = Backends.open()) {
            if (warmUp > 0) {
                LiveUpdate.warmUp(hv, m, warmUp);
            }
            if (takeOverMemory == null) {
                throw UserError.badInput("--take-over needs --memory FILE: the guest memory file the old process will use");
            }
            DemoRunner.Prepared prepared = LiveUpdate.prepareTakeOver(hv, takeOverMemory, m);
            PrintWriter out = spec.commandLine().getOut();
            out.println(READY);
            out.flush();
            LiveUpdate.rehearseUntil(prepared, m, LiveUpdateCommand::handOverOrParentGone);
            String go = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (!GO.equals(go)) {
                throw new UserError(ExitCode.FAILURE, "the old process did not hand over (it said " + go + ")");
            }
            DemoRunner.Restored r = LiveUpdate.takeOver(prepared, takeOver, m);
            ObjectNode root = Json.object();
            root.put("pid", ProcessHandle.current().pid());
            root.put("method", m.name());
            ObjectNode res = root.putObject("result");
            TrialResult t = r.result();
            if (t.ok()) {
                res.put("kvmclockErrorNs", t.kvmclockErrorNs()).put("tscErrorCycles", t.tscErrorCycles())
                        .put("hostTimeErrorNs", t.hostTimeErrorNs()).put("restoreMicros", t.restoreMicros())
                        .put("steppedBackwards", t.steppedBackwards()).put("rounds", t.rounds()).put("fellBack", t.fellBack())
                        .put("prepareMicros", t.timing().prepareNs() / 1000).put("warmUpUpdates", warmUp)
                        .put("aotCache", System.getProperty(AOT_CACHE_PROPERTY) != null);
                var phases = res.putArray("phases");
                t.timing().restore().forEach(p -> phases.addObject().put("name", p.name()).put("calls", p.calls())
                        .put("wallNs", p.wallNs()).put("kernelNs", p.kernelNs()));
            } else {
                res.put("failure", t.failure());
            }
            spec.commandLine().getOut().println(Json.write(root));
            return t.ok() ? ExitCode.OK : ExitCode.FAILURE;
        }
    }

    private void print(JsonNode child, Path dir) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            root.put("oldPid", ProcessHandle.current().pid());
            root.put("newPid", child.path("pid").asLong());
            root.put("method", child.path("method").asText());
            root.set("result", child.path("result"));
            if (keep != null) {
                root.put("handoff", dir.toString());
            }
            out.println(Json.write(root));
            return;
        }
        JsonNode r = child.path("result");
        Table t = new Table();
        t.row("old process", Long.toString(ProcessHandle.current().pid()), "ran the guest, paused it, wrote the hand-over");
        t.row("new process", Long.toString(child.path("pid").asLong()), "mapped the same memory, restored, resumed");
        t.row("method", child.path("method").asText(), "");
        if (r.has("failure")) {
            t.row("result", "FAILED", r.path("failure").asText());
        } else {
            t.row("kvmclock error", r.path("kvmclockErrorNs").asLong() + " ns", "restored minus saved pvclock at the same guest TSC");
            t.row("TSC error", r.path("tscErrorCycles").asLong() + " cycles", "against the policy");
            t.row("guest vs host time", r.path("hostTimeErrorNs").asLong() + " ns", "after resume");
            t.row("restore", r.path("restoreMicros").asLong() + " us", r.path("rounds").asInt() + " KVM_SET_CLOCK round(s)");
            t.row("stepped backwards", r.path("steppedBackwards").asBoolean() ? "YES" : "no", "");
        }
        if (keep != null) {
            t.row("hand-over", dir.toString(), "kvmclock state show " + dir.resolve(LiveUpdate.STATE));
        }
        t.print(out);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
