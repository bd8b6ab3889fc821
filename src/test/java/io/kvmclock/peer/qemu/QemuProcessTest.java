package io.kvmclock.peer.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.peer.qemu.GuestClock.Beat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The firmware in a real QEMU under KVM: it boots, enables kvmclock, keeps sampling; and every way out cleans up. */
class QemuProcessTest {

    @Test
    void theFirmwareBootsEnablesKvmclockAndKeepsRunning() throws Exception {
        Path qemu = RealQemu.orSkip();
        Path dir;
        long pid;
        try (QemuProcess q = QemuProcess.start(QemuProcess.Options.defaults().withQemu(qemu).withRamMiB(16))) {
            dir = q.directory();
            pid = q.pid();
            assertTrue(Files.exists(dir.resolve("qmp.sock")));
            GuestClock clock = new GuestClock(q.guestRam(Duration.ofSeconds(10)));
            Beat a = clock.beat();
            Beat b = clock.awaitRunning(a.seq(), Duration.ofSeconds(5));
            assertTrue(a.sample().pvclock().version() > 0, "KVM filled the pvclock: kvmclock is enabled");
            assertTrue(b.sample().tsc() > a.sample().tsc(), "the guest TSC advances");
            assertTrue(b.sample().kvmclock() > a.sample().kvmclock(), "the guest's kvmclock advances");
            assertEquals("running", q.qmp().execute("query-status").path("status").asText());
            assertEquals(QemuProcess.version(qemu), q.qmp().version());
        }
        assertFalse(Files.exists(dir), "the process's directory is gone");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "QEMU is gone");
    }

    @Test
    void aMissingQemuIsAnEnvironmentErrorThatLeavesNothing() {
        QemuException e = assertThrows(QemuException.class,
                () -> QemuProcess.start(QemuProcess.Options.defaults().withQemu(Path.of("/nonexistent/qemu-system-x86_64"))));
        assertEquals(QemuException.Kind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().contains("apt-get install"), e.getMessage());
    }

    @Test
    void aQemuThatExitsAtStartIsOneLineAndLeavesNoDirectory(@TempDir Path tmp) throws Exception {
        Path fake = RealQemu.failingAtStart(tmp, """
                qemu-system-x86_64: warning: something harmless
                qemu-system-x86_64: failed to initialize kvm: Permission denied
                """);
        QemuException e = assertThrows(QemuException.class,
                () -> QemuProcess.start(QemuProcess.Options.defaults().withQemu(fake)));
        assertEquals(QemuException.Kind.ENVIRONMENT, e.kind());
        assertEquals("qemu-system-x86_64 exited at start: qemu-system-x86_64: failed to initialize kvm: Permission denied",
                e.getMessage());
        assertEquals(java.util.Set.of(), QemuProcess.ownedDirectories(), "no directory left behind");
    }

    @Test
    void closingTwiceIsHarmlessAndAStoppedGuestStaysStopped() throws Exception {
        Path qemu = RealQemu.orSkip();
        QemuProcess q = QemuProcess.start(QemuProcess.Options.defaults().withQemu(qemu));
        try {
            GuestClock clock = new GuestClock(q.guestRam(Duration.ofSeconds(10)));
            q.qmp().execute("stop");
            long seq = clock.heartbeatSeq(); // the guest may have stopped mid-publish: read the sequence alone
            Thread.sleep(50);
            assertEquals(seq, clock.heartbeatSeq(), "no heartbeat while stopped");
            q.qmp().execute("cont");
            assertNotEquals(seq, clock.awaitRunning(seq, Duration.ofSeconds(5)).seq());
        } finally {
            q.close();
            q.close();
        }
        assertFalse(q.alive());
    }

    @Test
    void aQmpErrorAndAFailedMigrationAreOneLineFailures() throws Exception {
        Path qemu = RealQemu.orSkip();
        try (QemuProcess q = QemuProcess.start(QemuProcess.Options.defaults().withQemu(qemu))) {
            QemuException e = assertThrows(QemuException.class, () -> q.qmp().execute("no-such-command"));
            assertEquals(QemuException.Kind.FAILURE, e.kind());
            assertTrue(e.getMessage().startsWith("QMP no-such-command failed: "), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            // a migration to a socket nobody listens on
            QemuException m = assertThrows(QemuException.class, () -> {
                q.qmp().execute("migrate", Qmp.args().put("uri", "unix:" + q.file("nobody-listens")));
                QemuScenarios.awaitMigration(q);
            });
            assertEquals(QemuException.Kind.FAILURE, m.kind());
            assertTrue(m.getMessage().contains("migrat"), m.getMessage());
            assertTrue(q.alive(), "the source survives a failed migration");
        }
    }
}
