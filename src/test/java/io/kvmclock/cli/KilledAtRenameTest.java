package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvmclock.demo.LiveUpdate;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.state.StateFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Killed exactly at the rename, for real: strace delivers SIGKILL to the command as it enters its N-th
 * rename(2). What is left is never a mix (the old file or folder whole, or the new one whole), and the next
 * run sweeps the leftovers.
 */
class KilledAtRenameTest {

    @TempDir
    Path dir;

    private static void requireStrace() throws Exception {
        boolean ok;
        try {
            ok = new ProcessBuilder("strace", "-V").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException e) {
            ok = false;
        }
        assumeTrue(ok, "skipped: needs strace (apt-get install strace) to kill a command exactly at its rename");
    }

    /** Runs kvmclock in a new JVM, killed with SIGKILL when it enters its {@code nth} rename; the exit code. */
    private static int killedAtRename(int nth, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("strace", "-f", "-qq", "-o", "/dev/null",
                "-e", "trace=rename,renameat,renameat2",
                "-e", "inject=rename,renameat,renameat2:signal=SIGKILL:when=" + nth,
                ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        return p.exitValue();
    }

    private List<String> leftovers(Path in) throws IOException {
        try (Stream<Path> s = Files.list(in)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".kvmclock-")).sorted().toList();
        }
    }

    @Test
    void stateSample() throws Exception {
        requireStrace();
        Path f = dir.resolve("g.kvmclk");
        assertEquals(ExitCode.OK, CliRun.of("state", "sample", f.toString()).exitCode());
        assertEquals(137, killedAtRename(1, "state", "sample", f.toString(), "--force", "--vcpus", "3"));
        assertEquals(2, StateFile.read(f).vcpus().size(), "the old file, whole");
        assertEquals(1, leftovers(dir).size(), "the full-size temp file the kill left: " + leftovers(dir));
        assertEquals(ExitCode.OK, CliRun.of("state", "sample", f.toString(), "--force", "--vcpus", "4").exitCode());
        assertEquals(4, StateFile.read(f).vcpus().size());
        assertEquals(List.of(), leftovers(dir), "swept");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void demoReport(int nth) throws Exception {
        requireStrace();
        Path report = dir.resolve("r");
        String[] demo = {"demo", "--backend", "sim", "--sim-host", "kvmintel", "--trials", "2", "--methods", "precise",
                "--report", report.toString()};
        assertEquals(ExitCode.OK, CliRun.of(demo).exitCode());
        String old = Files.readString(report.resolve("index.html"));
        assertEquals(137, killedAtRename(nth, "demo", "--backend", "sim", "--sim-host", "kvmintel", "--trials", "3",
                "--methods", "precise,documented", "--report", report.toString()));
        List<String> left = leftovers(dir);
        if (nth == 1) {
            // killed as it moved the old report aside: the old report in place, whole; the new one staged beside it
            assertEquals(old, Files.readString(report.resolve("index.html")));
            assertTrue(left.size() == 1 && left.getFirst().endsWith(".stage"), left.toString());
        } else {
            // killed between "old aside" and "new in place": no report folder, the old one whole beside it
            assertFalse(Files.exists(report), "never a mix: the folder is not half replaced");
            Path aside = dir.resolve(left.stream().filter(n -> n.endsWith(".old")).findFirst().orElseThrow());
            assertEquals(old, Files.readString(aside.resolve("index.html")));
            try (Stream<Path> s = Files.list(aside)) {
                assertEquals(3, s.count(), "the old report whole");
            }
        }
        // the next write into the folder puts the old report back, then replaces it as a unit
        CliRun again = CliRun.of(demo);
        assertEquals(ExitCode.OK, again.exitCode(), again.err());
        assertEquals(List.of(), leftovers(dir), "aside folder and stage swept");
        try (Stream<Path> s = Files.list(report)) {
            assertEquals(3, s.count());
        }
    }

    @Test
    void liveUpdateKeep() throws Exception {
        requireStrace();
        Optional<String> why = KvmHypervisor.unavailableReason();
        assumeTrue(why.isEmpty(), () -> "skipped, real KVM needed: " + why.orElse(""));
        Path keep = dir.resolve("handoff");
        assertEquals(137, killedAtRename(1, "live-update", "--keep", keep.toString(), "--run", "10ms"));
        assertFalse(Files.exists(keep), "no half hand-over in place");
        assertEquals(1, leftovers(dir).size(), "the staged hand-over the kill left: " + leftovers(dir));
        CliRun r = CliRun.of("live-update", "--keep", keep.toString(), "--run", "10ms", "--json");
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertTrue(r.err().contains("no longer running"), "the killed run's guest memory was swept: " + r.err());
        assertEquals(List.of(), leftovers(dir));
        try (Stream<Path> s = Files.list(keep)) {
            assertEquals(LiveUpdate.FILES.size(), s.count());
        }
    }
}
