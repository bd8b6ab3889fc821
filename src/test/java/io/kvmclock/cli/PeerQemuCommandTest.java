package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.peer.qemu.QemuProcess;
import io.kvmclock.peer.qemu.RealQemu;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** `peer qemu` on the real QEMU: the JSON contract, what it measured, bad input, and clean-up on every exit. */
class PeerQemuCommandTest {

    @Test
    void theJsonContractWithRealQemu(@TempDir Path dir) throws Exception {
        Path qemu = RealQemu.orSkip();
        CliRun r = CliRun.of("peer", "qemu", "--trials", "2", "--pause", "30ms", "--json", "--report", dir.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(QemuProcess.version(qemu), j.path("qemu").path("version").asText());
        JsonNode ss = j.path("scenarios");
        assertEquals(List.of("stop-cont", "migrate", "snapshot"), names(ss));
        for (JsonNode s : ss) {
            assertEquals(2, s.path("trials").asInt(), s.toString());
            for (String f : List.of("kvmclockErrorNs", "tscErrorCycles", "hostTimeErrorNs", "pauseMicros", "qemuDowntimeMs")) {
                for (String k : List.of("median", "p99", "max")) {
                    assertTrue(s.path(f).has(k), s.path("name") + " " + f + "." + k);
                }
            }
            assertTrue(s.path("steppedBackwards").isIntegralNumber());
            assertTrue(s.path("reimplementationAgrees").isBoolean());
            JsonNode re = s.path("reimplementation");
            assertEquals("qemu", re.path("method").asText());
            assertEquals(2, re.path("trials").asInt());
            assertTrue(re.path("kvmclockErrorNs").has("median"));
        }
        JsonNode stopCont = ss.get(0);
        assertTrue(stopCont.path("pauseMicros").path("median").asLong() >= 30_000,
                "the host saw at least the pause asked for: " + stopCont);
        assertTrue(stopCont.path("qemuDowntimeMs").path("median").isNull(), "QEMU reports no downtime for stop/cont");
        assertTrue(ss.get(1).path("qemuDowntimeMs").path("median").isIntegralNumber(), "a migration has QEMU's downtime");
        assertTrue(Files.readString(dir.resolve("index.html")).contains("Real QEMU " + QemuProcess.version(qemu)));
        assertTrue(Files.exists(dir.resolve("qemu-kvmclock-error.svg")));
        assertEquals(java.util.Set.of(), QemuProcess.ownedDirectories(), "no QEMU directory left behind");
    }

    @Test
    void badInputIsExit2() {
        CliRun s = CliRun.of("peer", "qemu", "--scenarios", "stop-cont,teleport");
        assertEquals(ExitCode.BAD_INPUT, s.exitCode());
        assertEquals("kvmclock: unknown scenario 'teleport': choose from stop-cont, migrate, snapshot", s.errLine());
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("peer", "qemu", "--pause", "0ms").exitCode());
        assertEquals(ExitCode.BAD_INPUT, CliRun.of("peer", "qemu", "--trials", "0").exitCode());
    }

    @Test
    void noQemuIsExit3InOneLine() {
        RealQemu.kvmOrSkip();
        CliRun r = CliRun.of("peer", "qemu", "--qemu", "/nonexistent/qemu-system-x86_64");
        assertEquals(ExitCode.ENVIRONMENT, r.exitCode(), r.err());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(r.errLine().contains("apt-get install --no-install-recommends qemu-system-x86"), r.err());
    }

    @Test
    void aQemuThatRefusesKvmIsExit3AndLeavesNothing(@TempDir Path tmp) throws Exception {
        RealQemu.kvmOrSkip();
        Path fake = RealQemu.failingAtStart(tmp, """
                Could not access KVM kernel module: Permission denied
                qemu-system-x86_64: failed to initialize kvm: Permission denied
                """);
        CliRun r = CliRun.of("peer", "qemu", "--qemu", fake.toString(), "--trials", "1");
        assertEquals(ExitCode.ENVIRONMENT, r.exitCode(), r.err());
        assertEquals("kvmclock: qemu-system-x86_64 exited at start: qemu-system-x86_64: failed to initialize kvm: Permission denied",
                r.err().strip());
        assertEquals(java.util.Set.of(), QemuProcess.ownedDirectories());
    }

    /** SIGTERM, or SIGINT as Ctrl-C sends it, mid-run: the shutdown hook takes QEMU and its files with it. */
    @ParameterizedTest
    @ValueSource(strings = {"TERM", "INT"})
    void aSignalMidRunLeavesNoQemuAndNoFiles(String signal, @TempDir Path tmp) throws Exception {
        RealQemu.orSkip();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // the child's own temp dir: every directory it makes is in there, whatever else runs on this machine
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + tmp,
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "peer", "qemu", "--scenarios", "snapshot", "--trials", "1000", "--pause", "200ms")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            List<ProcessHandle> qemus = List.of();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (qemus.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(100);
                qemus = p.descendants().filter(h -> h.info().command().orElse("").endsWith(QemuProcess.BINARY)).toList();
            }
            assertFalse(qemus.isEmpty(), "the run started QEMU");
            Thread.sleep(500); // into the trials: a snapshot file may exist too
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            for (ProcessHandle q : qemus) {
                assertTrue(q.onExit().get(10, TimeUnit.SECONDS) != null);
                assertFalse(q.isAlive(), "QEMU " + q.pid() + " is gone");
            }
            try (var left = Files.list(tmp)) {
                assertEquals(List.of(), left.toList(), "its directories (sockets, firmware, snapshots) are gone");
            }
        } finally {
            p.destroyForcibly();
        }
    }

    private static List<String> names(JsonNode ss) {
        return java.util.stream.StreamSupport.stream(ss.spliterator(), false).map(s -> s.path("name").asText()).toList();
    }
}
