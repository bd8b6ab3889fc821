package io.kvmclock.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.LiveUpdate;
import io.kvmclock.demo.TrialResult;
import io.kvmclock.files.AtomicFiles;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.FaultInjector;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.restore.RestoreMethod;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
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
            "  kvmclock live-update --keep /tmp/handoff    (keep the hand-over files to inspect: kvmclock state show /tmp/handoff/clock.kvmclk)",
            "  kvmclock live-update --inject-fault restore --json  (a failed upgrade)",
            "",
            "If the new process fails before it resumes the guest (it crashes, an ioctl",
            "fails, precise misses its bound, the hand-over is bad), the old process, which",
            "still holds the paused guest, resumes it with its kvmclock unchanged and says",
            "the upgrade was rolled back (exit 1). SIGTERM or Ctrl-C ends both processes",
            "and removes the hand-over and the guest memory; what a killed run left is",
            "removed at the next start."
        })
final class LiveUpdateCommand implements Callable<Integer> {

    /** Where the new process is made to fail, for tests and for rehearsing an upgrade. */
    enum Fault { handover, restore, resume, crash }

    @Option(names = "--method", defaultValue = "precise", paramLabel = "M",
            description = "Restore method the new process uses (default ${DEFAULT-VALUE}).")
    String method;

    @Mixin
    RestoreOptions restore;

    @Option(names = "--run", defaultValue = "200ms", paramLabel = "D", description = "How long the guest runs before the update (default ${DEFAULT-VALUE}, at most 1h).")
    String run;

    @Option(names = "--keep", paramLabel = "DIR", description = "Write the hand-over to DIR (new, empty or a previous hand-over) and keep it.")
    Path keep;

    @Option(names = "--inject-fault", paramLabel = "STEP",
            description = "Make the new process fail at STEP: handover (refuses the hand-over), restore (the first KVM_SET_CLOCK,"
                    + " or KVM_SET_CLOCK_GUEST, fails with EIO), resume (stops after the restore, before the guest runs), crash"
                    + " (dies there). The old process then rolls back.")
    Optional<Fault> injectFault;

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

    static final Path SHM = Path.of("/dev/shm");
    static final long MAX_RUN_NS = 3_600 * Inputs.NS_PER_S;
    static final String READY = "ready";
    static final String GO = "go";
    /** The new process's word that it is about to run the guest: from then on there is no rolling back. */
    static final String COMMIT = "commit";
    /** Set by ./kvmclock to the ahead-of-time cache this JVM uses: the new process starts from it too. */
    static final String AOT_CACHE_PROPERTY = "kvmclock.aotCache";

    @Override
    public Integer call() throws Exception {
        RestoreMethod m = restore.method(method);
        if (warmUp < 0 || warmUp > 100_000) {
            throw UserError.badInput("--warm-up " + warmUp + " is out of range: 0 to 100000");
        }
        if (takeOver != null) {
            return takeOver(m);
        }
        long runNs = Inputs.durationNs("--run", run, MAX_RUN_NS);
        if (keep != null) {
            Inputs.outputFolder("--keep", keep, LiveUpdate.FILES);
        }
        PrintWriter err = spec.commandLine().getErr();
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        List<Path> swept = LiveUpdate.sweepStale(tmp, SHM);
        if (!swept.isEmpty()) {
            err.println("live-update: removed " + swept.size() + " file(s) left by live updates that are no longer running: "
                    + swept.stream().map(Path::toString).collect(Collectors.joining(", ")));
        }
        long pid = ProcessHandle.current().pid();
        Path dir = keep != null ? keep : tmp.resolve(LiveUpdate.PREFIX + pid + "-" + Long.toUnsignedString(new SecureRandom().nextLong(), 36));
        Path memory = LiveUpdate.memoryFile(SHM, pid);
        Cleanup cleanup = new Cleanup(memory, keep == null ? Optional.of(dir) : Optional.empty(), err);
        Thread hook = new Thread(cleanup::interrupted, "kvmclock-live-update-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            try {
                LiveUpdate.prepareMemory(memory, VmConfig.DEFAULT_MEMORY);
            } catch (IOException e) {
                throw new UserError(ExitCode.ENVIRONMENT, "cannot create the guest memory file " + memory + ": "
                        + Inputs.reason(e) + "; the guest's memory lives in /dev/shm during the update: free space there"
                        + " or mount it read-write", e);
            }
            try (Hypervisor hv = Backends.open()) {
                return update(hv, m, dir, memory, runNs, cleanup, err);
            }
        } catch (Exception e) {
            // printed here, while the hook is registered: a Ctrl-C that lands after the hook is removed
            // would end the JVM before picocli's handler printed it, and the user would see nothing
            return Main.failed(e, spec.root().commandLine().getParseResult(), err);
        } finally {
            cleanup.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down: the hook is running or has run
            }
        }
    }

    private int update(Hypervisor hv, RestoreMethod m, Path dir, Path memory, long runNs, Cleanup cleanup, PrintWriter err)
            throws IOException, InterruptedException {
        // As a VMM upgrade does it: the new process starts and warms up while the old one still runs the
        // guest; the blackout begins only when the new one is ready.
        Process next = startNewProcess(dir, memory, m);
        cleanup.child(next);
        err.println("live-update: new process " + next.pid() + " started, preparing its VM and restore path");
        try (BufferedReader fromNext = next.inputReader(StandardCharsets.UTF_8);
             PrintWriter toNext = new PrintWriter(next.outputWriter(StandardCharsets.UTF_8), true)) {
            String ready = fromNext.readLine();
            if (!READY.equals(ready)) {
                throw new UserError(ExitCode.FAILURE, "the new process did not get ready ("
                        + (ready == null ? "it exited with " + next.waitFor() : "it said '" + Inputs.printable(ready) + "'")
                        + "); the guest was not started");
            }
            err.println("live-update: old process " + ProcessHandle.current().pid() + " runs the guest on " + memory);
            LiveUpdate.Paused paused = LiveUpdate.handOver(hv, dir, memory, runNs);
            try {
                err.println("live-update: guest paused, hand-over in " + dir + "; the new process takes over");
                toNext.println(GO);
                Outcome o = readOutcome(next, fromNext);
                Optional<LiveUpdate.Rollback> rb = Optional.empty();
                if (!o.committed()) {
                    err.println("live-update: the new process failed before it resumed the guest: rolling back");
                    rb = Optional.of(LiveUpdate.rollBack(hv, paused));
                }
                print(o, rb, dir);
                return o.committed() && o.failure().isEmpty() ? ExitCode.OK : ExitCode.FAILURE;
            } finally {
                paused.guest().vm().close();
            }
        }
    }

    /** What the new process said: whether it committed, its report (if it made one), its failure (if any). */
    record Outcome(boolean committed, long pid, JsonNode report, Optional<String> failure) {}

    /**
     * The new process's report is one line of JSON (after "commit" when it resumed the guest). A failure is
     * acted on as soon as that line arrives, without waiting for the process to end: the guest is still paused.
     */
    private static Outcome readOutcome(Process p, BufferedReader fromNext) throws IOException, InterruptedException {
        String line = fromNext.readLine();
        boolean committed = COMMIT.equals(line);
        if (committed) {
            line = fromNext.readLine();
        }
        JsonNode report;
        try {
            report = line == null ? Json.object() : new ObjectMapper().readTree(line);
        } catch (IOException e) {
            report = Json.object();
        }
        String failure = report.path("failure").asText(report.path("result").path("failure").asText(""));
        if (failure.isEmpty() && !report.has("result")) {
            failure = "the new process exited with " + p.waitFor() + " and reported nothing";
        }
        return new Outcome(committed, p.pid(), report, failure.isEmpty() ? Optional.empty() : Optional.of(failure));
    }

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
        injectFault.ifPresent(f -> cmd.addAll(List.of("--inject-fault", f.name())));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** The new process: prepare, say ready, rehearse until the hand-over, restore, commit, resume, report on stdout. */
    private int takeOver(RestoreMethod m) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Fault fault = injectFault.orElse(null);
        try (Hypervisor real = Backends.open()) {
            FaultInjector faults = new FaultInjector(fault == Fault.restore
                    ? Optional.of(new FaultInjector.Rule(m.setsClockWith(), 1, new FaultInjector.Fault.Fails(Errno.EIO)))
                    : Optional.empty());
            Hypervisor hv = faults.wrap(real);
            if (warmUp > 0) {
                LiveUpdate.warmUp(hv, m, warmUp);
            }
            if (takeOverMemory == null) {
                throw UserError.badInput("--take-over needs --memory FILE: the guest memory file the old process will use");
            }
            // As a VMM upgrade does it: the destination VM on the guest's memory, its vCPU and the method's
            // preparation exist before the old process pauses the guest, and stay hot until it hands over.
            Optional<DemoRunner.Prepared> prepared = m.preparesBeforeBlackout()
                    ? Optional.of(LiveUpdate.prepareTakeOver(hv, takeOverMemory, m)) : Optional.empty();
            out.println(READY);
            out.flush();
            // The hand-over (or the end of stdin, when the old process is gone) is read on its own thread, so that
            // this one can keep rehearsing until it arrives.
            CompletableFuture<String> handedOver = new CompletableFuture<>();
            Thread reader = new Thread(() -> {
                try {
                    handedOver.complete(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine());
                } catch (IOException e) {
                    handedOver.complete(null);
                }
            }, "kvmclock-hand-over");
            reader.setDaemon(true);
            reader.start();
            prepared.ifPresent(p -> LiveUpdate.rehearseUntil(p, m, handedOver::isDone));
            String go = handedOver.join();
            if (!GO.equals(go)) {
                // The old process ended (or was stopped) before it handed over: there is nothing to take over.
                spec.commandLine().getErr().println("live-update (new process): the old process ended before it handed over;"
                        + " nothing to take over");
                return ExitCode.FAILURE;
            }
            faults.arm(true);
            ObjectNode root = Json.object();
            root.put("pid", ProcessHandle.current().pid());
            root.put("method", m.name());
            try {
                if (fault == Fault.handover) {
                    throw new UserError(ExitCode.FAILURE, "injected fault (--inject-fault handover): the new process refused the hand-over");
                }
                LiveUpdate.HandOver h = LiveUpdate.read(takeOver);
                Runnable commit = () -> {
                    if (fault == Fault.resume) {
                        throw new UserError(ExitCode.FAILURE, "injected fault (--inject-fault resume): the new process stopped"
                                + " after the restore, before the guest ran");
                    }
                    if (fault == Fault.crash) {
                        Runtime.getRuntime().halt(134);
                    }
                    out.println(COMMIT);
                    out.flush();
                };
                DemoRunner.Restored r = prepared.isPresent() ? LiveUpdate.takeOver(prepared.get(), h, m, commit)
                        : LiveUpdate.takeOver(hv, h, m, commit);
                ObjectNode res = root.putObject("result");
                switch (r.result()) {
                    case TrialResult.Measured t -> {
                        res.put("kvmclockErrorNs", t.kvmclockErrorNs()).put("tscErrorCycles", t.tscErrorCycles())
                                .put("hostTimeErrorNs", t.hostTimeErrorNs()).put("restoreMicros", t.restoreMicros())
                                .put("steppedBackwards", t.steppedBackwards()).put("rounds", t.rounds()).put("fellBack", t.fellBack())
                                .put("prepareMicros", t.timing().prepareNs() / 1000).put("warmUpUpdates", warmUp)
                                .put("aotCache", System.getProperty(AOT_CACHE_PROPERTY) != null);
                        var phases = res.putArray("phases");
                        t.timing().restore().forEach(p -> phases.addObject().put("name", p.name()).put("calls", p.calls())
                                .put("wallNs", p.wallNs()).put("kernelNs", p.kernelNs()));
                        ArrayNode notes = res.putArray("notes");
                        t.notes().forEach(notes::add);
                    }
                    case TrialResult.Failed f -> res.put("failure", f.why());
                    case TrialResult.Unsupported u -> res.put("failure", u.describe());
                }
                out.println(Json.line(root));
                return r.result() instanceof TrialResult.Measured ? ExitCode.OK : ExitCode.FAILURE;
            } catch (IOException | RuntimeException e) {
                root.put("failure", e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
                out.println(Json.line(root));
                return ExitCode.FAILURE;
            }
        }
    }

    private void print(Outcome o, Optional<LiveUpdate.Rollback> rb, Path dir) {
        PrintWriter out = spec.commandLine().getOut();
        JsonNode r = o.report().path("result");
        boolean backwards = rb.map(LiveUpdate.Rollback::steppedBackwards).orElse(r.path("steppedBackwards").asBoolean(false));
        if (json) {
            ObjectNode root = Json.object();
            root.put("oldPid", ProcessHandle.current().pid());
            root.put("newPid", o.pid());
            root.put("method", o.report().path("method").asText(method));
            root.put("committed", o.committed());
            root.put("rolledBack", rb.isPresent());
            root.put("guestSteppedBackwards", backwards);
            o.failure().ifPresent(f -> root.put("failure", f));
            if (r.isObject()) {
                root.set("result", r);
            }
            rb.ifPresent(b -> root.putObject("rollback").put("stepNs", b.stepNs()).put("kvmclockErrorNs", b.kvmclockErrorNs())
                    .put("blackoutNs", b.blackoutNs()).put("steppedBackwards", b.steppedBackwards()));
            if (keep != null) {
                root.put("handoff", dir.toString());
            }
            out.println(Json.write(root));
            return;
        }
        Table t = new Table();
        t.row("old process", Long.toString(ProcessHandle.current().pid()), "ran the guest, paused it, wrote the hand-over");
        t.row("new process", Long.toString(o.pid()), o.committed() ? "mapped the same memory, restored, resumed" : "failed before it resumed the guest");
        t.row("method", o.report().path("method").asText(method), "");
        if (o.failure().isPresent()) {
            t.row("result", "FAILED", Inputs.printable(o.failure().get()));
        } else {
            t.row("kvmclock error", r.path("kvmclockErrorNs").asLong() + " ns", "restored minus saved pvclock at the same guest TSC");
            t.row("TSC error", r.path("tscErrorCycles").asLong() + " cycles", "against the policy");
            t.row("guest vs host time", r.path("hostTimeErrorNs").asLong() + " ns", "after resume");
            t.row("restore", r.path("restoreMicros").asLong() + " us", r.path("rounds").asInt() + " KVM_SET_CLOCK round(s)");
            r.path("notes").forEach(n -> t.row("note", "", Inputs.printable(n.asText())));
        }
        if (rb.isPresent()) {
            LiveUpdate.Rollback b = rb.get();
            t.row("ROLLED BACK", "old process", "resumed the paused guest in its own VM; the upgrade did not happen");
            t.row("  kvmclock step", String.format("%,d ns", b.stepNs()), "first reading after resume minus the last before the pause");
            t.row("  blackout", String.format("%,d ns", b.blackoutNs()), "host time from the guest's last run to its resume, about");
            t.row("  kvmclock error", b.kvmclockErrorNs() + " ns", "against the function saved at the pause (0: continuous)");
        }
        t.row("stepped backwards", backwards ? "YES" : "no", "");
        if (keep != null) {
            t.row("hand-over", dir.toString(), "kvmclock state show " + dir.resolve(LiveUpdate.STATE));
        }
        t.print(out);
    }

    /**
     * Removes the guest memory file and (unless --keep) the hand-over folder, and stops the new process if it
     * still runs: on every way out, including SIGTERM and Ctrl-C (as a shutdown hook). Runs once.
     */
    private static final class Cleanup {
        private final Path memory;
        private final Optional<Path> dir;
        private final PrintWriter err;
        private Process child;
        private boolean done;

        Cleanup(Path memory, Optional<Path> dir, PrintWriter err) {
            this.memory = memory;
            this.dir = dir;
            this.err = err;
        }

        synchronized void child(Process p) {
            child = p;
        }

        /**
         * The shutdown hook. It runs only while still registered, i.e. on a signal: the main thread removes it
         * on every normal path. The main thread may be cleaning up at that moment (a Ctrl-C that killed the new
         * process first ends its read), and the JVM halts once the hook returns, before the main thread could
         * print its own error, so the hook always says what happened, after waiting for the clean-up.
         */
        void interrupted() {
            run();
            err.println("live-update: interrupted: stopped the new process, removed the guest memory"
                    + (dir.isPresent() ? " and the hand-over" : ""));
            err.flush();
        }

        /** Stops the new process and removes the files, once: a second call returns at once. */
        synchronized void run() {
            if (done) {
                return;
            }
            done = true;
            if (child != null && child.isAlive()) {
                child.destroy();
                try {
                    if (!child.waitFor(5, TimeUnit.SECONDS)) {
                        child.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    child.destroyForcibly();
                    Thread.currentThread().interrupt();
                }
            }
            try {
                Files.deleteIfExists(memory);
            } catch (IOException e) {
                err.println("live-update: could not remove " + memory + ": " + Inputs.reason(e));
            }
            if (dir.isPresent()) {
                try {
                    AtomicFiles.deleteTree(dir.get());
                } catch (IOException e) {
                    err.println("live-update: could not remove " + dir.get() + ": " + Inputs.reason(e));
                }
            }
        }
    }
}
