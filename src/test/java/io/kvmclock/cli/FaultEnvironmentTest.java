package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.demo.LiveUpdate;
import io.kvmclock.files.AtomicFiles;
import io.kvmclock.kvm.RealKvm;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 13's rows that need the real thing: a full or read-only /dev/shm and a full disk (a tmpfs mounted in
 * the test's own mount namespace, so the machine's mounts are never touched), signals to a running live
 * update, and the rollback of a failed one on real KVM.
 */
@Tag("slow")
class FaultEnvironmentTest {

    @TempDir
    Path dir;

    record Ran(int exitCode, String out, String err) {}

    private static String java() {
        return ProcessHandle.current().info().command().orElseThrow();
    }

    private static List<String> kvmclock(String... args) {
        List<String> cmd = new ArrayList<>(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static void requireMountNamespace() throws Exception {
        boolean ok;
        try {
            Process p = new ProcessBuilder("unshare", "-m", "--propagation", "private", "true").redirectErrorStream(true).start();
            ok = p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            ok = false;
        }
        assumeTrue(ok, "skipped: needs unshare -m (root, util-linux) to mount a tmpfs in the test's own mount namespace");
    }

    private static void requireKvm() {
        RealKvm.assumeAvailable();
    }

    /** Runs {@code script} under sh in a new mount namespace; $KVMCLOCK is the command line of this build. */
    private static Ran shell(String script) throws Exception {
        String kvmclock = String.join(" ", kvmclock().stream().map(a -> "'" + a + "'").toList());
        ProcessBuilder b = new ProcessBuilder("unshare", "-m", "--propagation", "private", "sh", "-c", script)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectError(ProcessBuilder.Redirect.PIPE);
        b.environment().put("KVMCLOCK", kvmclock);
        Process p = b.start();
        // stderr is small; read it on another thread so neither pipe can fill up
        StringBuilder err = new StringBuilder();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                err.append(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                err.append(e);
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the child finished");
        t.join();
        return new Ran(p.exitValue(), out, err.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"size=1m", "ro"})
    void aFullOrReadOnlyDevShmIsAnEnvironmentError(String option) throws Exception {
        requireMountNamespace();
        Ran r = shell("mount -t tmpfs -o " + option + " none /dev/shm && eval \"$KVMCLOCK live-update\"; echo \"EXIT=$?\"; ls -A /dev/shm");
        assertTrue(r.out().contains("EXIT=" + ExitCode.ENVIRONMENT), r.out() + r.err());
        List<String> lines = r.err().strip().lines().filter(l -> l.startsWith("kvmclock:")).toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.getFirst().contains("/dev/shm") && lines.getFirst().contains(option.equals("ro")
                ? "Read-only file system" : "No space left on device"), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), "no trace: " + r.err());
        assertEquals("", r.out().substring(r.out().indexOf("EXIT=")).lines().skip(1).reduce("", String::concat),
                "nothing left in /dev/shm");
    }

    @Test
    void aFullDiskAfterALongRunPrintsTheResultsAndKeepsTheOldReport() throws Exception {
        requireMountNamespace();
        Path mnt = Files.createDirectory(dir.resolve("small"));
        // 16 KiB: the old report's three files take three pages, the one left cannot hold the new report
        Ran r = shell("mount -t tmpfs -o size=16k none " + mnt + " && mkdir " + mnt + "/r && cd " + mnt + "/r"
                + " && echo old > index.html && echo old > kvmclock-error.svg && echo old > host-time-error.svg && cd /"
                + " && eval \"$KVMCLOCK demo --backend sim --sim-host kvmintel --trials 30 --report " + mnt + "/r\"; echo \"EXIT=$?\";"
                + " cat " + mnt + "/r/index.html; ls -A " + mnt + " " + mnt + "/r");
        assertTrue(r.out().contains("EXIT=" + ExitCode.FAILURE), r.out() + r.err());
        assertTrue(r.out().contains("precise") && r.out().contains("median"), "the measurements are printed: " + r.out());
        String errLine = r.err().strip().lines().filter(l -> l.startsWith("kvmclock:")).findFirst().orElse("");
        assertTrue(errLine.contains("could not be written") && errLine.contains("No space left on device"), r.err());
        String after = r.out().substring(r.out().indexOf("EXIT="));
        assertTrue(after.contains("\nold\n"), "the old report is intact: " + after);
        assertFalse(after.contains(".kvmclock-"), "no staged folder or temp file left: " + after);
    }

    private static List<Path> liveUpdateFiles(long pid) throws IOException {
        List<Path> found = new ArrayList<>();
        for (Path d : List.of(Path.of(System.getProperty("java.io.tmpdir")), Path.of("/dev/shm"))) {
            try (Stream<Path> s = Files.list(d)) {
                // the hand-over folder is PREFIX + pid + "-" + random, the memory PREFIX + pid + ".mem": a bare
                // prefix would also take the files of another run whose pid begins with the same digits
                s.filter(p -> p.getFileName().toString().startsWith(LiveUpdate.PREFIX + pid + "-")
                        || p.getFileName().equals(LiveUpdate.memoryFile(d, pid).getFileName())).forEach(found::add);
            }
        }
        return found;
    }

    @Tag("kvm")
    @ParameterizedTest
    @CsvSource({"TERM, started", "TERM, runs the guest on", "INT, started", "INT, runs the guest on"})
    void aSignalledLiveUpdateLeavesNothingBehind(String signal, String phase) throws Exception {
        requireKvm();
        Process p = new ProcessBuilder(kvmclock("live-update", "--run", "20s")).redirectErrorStream(true).start();
        var lines = p.inputReader(StandardCharsets.UTF_8);
        // wait for the phase: the new process warming up, or the guest running on its shared memory
        for (String l; (l = lines.readLine()) != null && !l.contains(phase); ) {
            // progress lines before it
        }
        assertFalse(liveUpdateFiles(p.pid()).isEmpty(), "the live update made its files");
        List<ProcessHandle> both = new ArrayList<>(p.descendants().toList());
        both.add(p.toHandle());
        // Ctrl-C reaches the whole foreground process group; SIGTERM only the process it is sent to
        for (ProcessHandle h : signal.equals("INT") ? both : List.of(p.toHandle())) {
            new ProcessBuilder("kill", "-" + signal, Long.toString(h.pid())).start().waitFor();
        }
        String rest = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        // the hook says so, or (Ctrl-C reached the new process first) the old one's own one-line error does
        assertTrue(rest.contains("interrupted") || rest.contains("kvmclock: the new process"), rest);
        assertFalse(rest.contains("Exception") || rest.contains("\tat "), "no trace: " + rest);
        assertEquals(List.of(), liveUpdateFiles(p.pid()), "hand-over and guest memory removed");
        for (ProcessHandle h : both) {
            assertTrue(h.onExit().get(30, TimeUnit.SECONDS) != null && !h.isAlive(), "both processes ended");
        }
    }

    @Tag("kvm")
    @Test
    void staleFilesOfAGoneLiveUpdateAreSweptAtTheNextStart() throws Exception {
        long dead = FaultRowsTest.deadPid();
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        Path staleDir = Files.createDirectories(tmp.resolve("kvmclock-live-update-" + dead + "-test"));
        Files.writeString(staleDir.resolve("handoff.properties"), "memoryFile=/dev/shm/kvmclock-live-update-" + dead + ".mem\n");
        Path staleMem = Files.write(Path.of("/dev/shm", "kvmclock-live-update-" + dead + ".mem"), new byte[4096]);
        try {
            // refused at once (--run out of range) only after the sweep: no KVM needed for this
            CliRun r = CliRun.of("live-update", "--keep", dir.resolve("k").toString(), "--run", "1ms", "--method", "teleport");
            assertEquals(ExitCode.BAD_INPUT, r.exitCode());
            CliRun s = CliRun.of("live-update", "--run", "2h");
            assertEquals(ExitCode.BAD_INPUT, s.exitCode());
            requireKvm();
            CliRun ok = CliRun.of("live-update", "--run", "1ms", "--json");
            assertTrue(ok.err().contains("no longer running"), ok.err());
            assertFalse(Files.exists(staleDir));
            assertFalse(Files.exists(staleMem));
        } finally {
            AtomicFiles.deleteTree(staleDir);
            Files.deleteIfExists(staleMem);
        }
    }

    @Tag("kvm")
    @ParameterizedTest
    @ValueSource(strings = {"handover", "restore", "resume", "crash"})
    void aFailedLiveUpdateIsRolledBackWithTheGuestClockContinuous(String step) throws Exception {
        requireKvm();
        Path keep = dir.resolve("handoff");
        CliRun r = CliRun.of("live-update", "--json", "--inject-fault", step, "--keep", keep.toString(), "--run", "50ms");
        assertEquals(ExitCode.FAILURE, r.exitCode(), r.out() + r.err());
        JsonNode j = r.json();
        assertTrue(j.path("rolledBack").asBoolean(), j.toString());
        assertFalse(j.path("committed").asBoolean(), j.toString());
        assertFalse(j.path("guestSteppedBackwards").asBoolean(), j.toString());
        JsonNode rb = j.path("rollback");
        assertTrue(rb.path("stepNs").asLong() > 0, "the guest's clock went on: " + rb);
        assertTrue(Math.abs(rb.path("kvmclockErrorNs").asLong()) <= 1, "the same kvmclock function as before the pause: " + rb);
        String failure = j.path("failure").asText();
        assertTrue(switch (step) {
            case "restore" -> failure.contains("KVM_SET_CLOCK") && failure.contains("EIO");
            case "crash" -> failure.contains("exited with");
            default -> failure.contains("--inject-fault " + step);
        }, failure);
        try (var shm = Files.list(Path.of("/dev/shm"))) {
            assertTrue(shm.noneMatch(p -> p.getFileName().toString().contains(j.path("oldPid").asText())), "memory removed");
        }
    }
}
