package io.kvmclock.peer.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.peer.qemu.Firmware.Gap;
import io.kvmclock.peer.qemu.GuestClock.Beat;
import io.kvmclock.peer.qemu.Observation.Timed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;

/**
 * Runs the scenarios on real QEMU: one guest per scenario, booted once and carried through every trial
 * (a migration or snapshot moves it to a new QEMU, which the next trial starts from), each trial measured
 * from the guest's own samples ({@link Observation}). Every QEMU and file is closed on every path.
 */
public final class QemuScenarios {

    /** How long the guest may show no progress (coming up, a heartbeat, a gap) before it counts as not running. */
    private static final Duration GUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration MIGRATION_TIMEOUT = Duration.ofSeconds(60);

    private final QemuProcess.Options options;
    private final int trials;
    private final Duration pause;
    private final Progress progress;
    /** The guest's TSC rate, as KVM encodes it in the pvclock (hvclock_to_hz of its mul/shift). */
    private long tscKhz;

    public QemuScenarios(QemuProcess.Options options, int trials, Duration pause, Progress progress) {
        if (trials < 1) {
            throw new IllegalArgumentException("trials must be at least 1");
        }
        this.options = options;
        this.trials = trials;
        this.pause = pause;
        this.progress = progress;
    }

    /** The guest's TSC rate in kHz as its pvclock encodes it, known once a scenario has booted it (else 0). */
    public long tscKhz() {
        return tscKhz;
    }

    public List<Observation> run(Scenario s) {
        List<Observation> out = new ArrayList<>();
        QemuProcess first = QemuProcess.start(options);
        Guest at;
        try {
            at = new Guest(first, new GuestClock(first.guestRam(GUEST_TIMEOUT)));
        } catch (RuntimeException e) {
            first.close();
            throw e;
        }
        try (QemuProcess.Scratch scratch = new QemuProcess.Scratch()) {
            Beat up = at.clock().awaitRunning(at.clock().beat().seq(), GUEST_TIMEOUT);
            tscKhz = up.sample().pvclock().scale().toHz() / 1000;
            for (int i = 1; i <= trials; i++) {
                progress.update(s.label() + ": QEMU", i, trials);
                Moved m = switch (s) {
                    case STOP_CONT -> stopCont(at.qemu(), at.clock());
                    case MIGRATE -> migrate(at.qemu(), at.clock());
                    case SNAPSHOT -> snapshot(at.qemu(), at.clock(), scratch.file("snapshot-" + i));
                };
                out.add(m.observation());
                if (m.guest().qemu() != at.qemu()) {
                    closeQuietly(at);
                }
                at = m.guest();
            }
        } catch (IOException e) {
            throw QemuException.failure("reading QEMU's guest memory: " + e.getMessage());
        } finally {
            closeQuietly(at);
        }
        return out;
    }

    private static void closeQuietly(Guest g) {
        try {
            g.clock().close();
        } catch (IOException ignored) {
            // /proc/PID/mem of a process that is going away
        }
        g.qemu().close();
    }

    /** Where the guest runs: its QEMU and the reader of its memory there. */
    private record Guest(QemuProcess qemu, GuestClock clock) {}

    /** Where the guest runs after a trial, and what the trial showed. */
    private record Moved(Guest guest, Observation observation) {}

    private Moved stopCont(QemuProcess q, GuestClock clock) throws IOException {
        Beat before = clock.freshBeat(tscKhz, GUEST_TIMEOUT);
        q.qmp().clearEvents();
        q.qmp().execute("stop");
        Qmp.Event stop = event(q, "STOP");
        long stoppedEvents = clock.eventCount();
        QemuProcess.sleep(pause);
        q.qmp().execute("cont");
        Qmp.Event resume = event(q, "RESUME");
        return new Moved(new Guest(q, clock), observe(before, clock, stoppedEvents, resume.timestampMicros() - stop.timestampMicros(),
                OptionalLong.empty()));
    }

    private Moved migrate(QemuProcess src, GuestClock clock) throws IOException {
        QemuProcess dst = QemuProcess.start(options.withIncoming(new QemuProcess.Incoming.UnixSocket()));
        try {
            Beat before = clock.freshBeat(tscKhz, GUEST_TIMEOUT);
            src.qmp().clearEvents();
            src.qmp().execute("migrate", Qmp.args().put("uri", dst.incomingUri()));
            long downtime = awaitMigration(src);
            Qmp.Event stop = event(src, "STOP");
            long stoppedEvents = clock.eventCount();
            return arrived(dst, before, stoppedEvents, stop, downtime);
        } catch (IOException | RuntimeException e) {
            dst.close();
            throw e;
        }
    }

    private Moved snapshot(QemuProcess src, GuestClock clock, Path file) throws IOException {
        try {
            Beat before = clock.freshBeat(tscKhz, GUEST_TIMEOUT);
            src.qmp().clearEvents();
            src.qmp().execute("migrate", Qmp.args().put("uri", "exec:cat > " + QemuProcess.shellQuoted(file)));
            long downtime = awaitMigration(src);
            Qmp.Event stop = event(src, "STOP");
            long stoppedEvents = clock.eventCount();
            src.close(); // the source ends: the guest exists only in the file now
            QemuProcess.sleep(pause);
            QemuProcess dst = QemuProcess.start(options.withIncoming(new QemuProcess.Incoming.FromFile(file)));
            try {
                return arrived(dst, before, stoppedEvents, stop, downtime);
            } catch (IOException | RuntimeException e) {
                dst.close();
                throw e;
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The guest has moved to {@code dst}: its RESUME ends the pause; the observation from its memory there. */
    private Moved arrived(QemuProcess dst, Beat before, long stoppedEvents, Qmp.Event stop, long downtimeMs) throws IOException {
        Qmp.Event resume = event(dst, "RESUME");
        GuestClock to = new GuestClock(dst.guestRam(GUEST_TIMEOUT));
        try {
            Observation o = observe(before, to, stoppedEvents, resume.timestampMicros() - stop.timestampMicros(),
                    OptionalLong.of(downtimeMs));
            return new Moved(new Guest(dst, to), o);
        } catch (IOException | RuntimeException e) {
            to.close();
            throw e;
        }
    }

    /**
     * The trial's observation once the guest runs again: the pause's gap event ({@link #pauseOf}) holds the
     * last sample before the pause and the first after it.
     */
    private Observation observe(Beat before, GuestClock after, long stoppedEvents, long pauseMicros,
                                       OptionalLong downtimeMs) throws IOException {
        long deadline = System.nanoTime() + GUEST_TIMEOUT.toNanos();
        Beat now = after.beat();
        while (now.eventCount() <= stoppedEvents) {
            if (System.nanoTime() > deadline) {
                throw QemuException.failure("the guest recorded no gap for the pause within " + GUEST_TIMEOUT.toSeconds()
                        + " s (a pause shorter than the firmware's gap threshold, with an unchanged pvclock?)");
            }
            Thread.onSpinWait();
            now = after.beat();
        }
        now = after.freshBeat(tscKhz, GUEST_TIMEOUT);
        Gap g = pauseOf(after.gaps(stoppedEvents, now.eventCount()));
        return Observation.of(new Timed(before.hostNs(), before.sample()), new Timed(now.hostNs(), now.sample()),
                g.before(), g.after(), tscKhz, pauseMicros, downtimeMs);
    }

    /**
     * The pause among the events written since the stop: the first across which the pvclock changed (QEMU
     * calls KVM_SET_CLOCK before the guest runs again), else the longest. Usually the first event is the
     * pause; not when the guest was stopped while writing an event for an earlier gap (a preemption).
     */
    static Gap pauseOf(List<Gap> since) {
        return since.stream().filter(Gap::pvclockChanged).findFirst()
                .orElseGet(() -> since.stream().max(Comparator.comparingLong(Gap::tscCycles)).orElseThrow());
    }

    private static Qmp.Event event(QemuProcess q, String name) {
        return q.qmp().awaitEvent(name, MIGRATION_TIMEOUT)
                .orElseThrow(() -> QemuException.failure("QEMU sent no " + name + " event within " + MIGRATION_TIMEOUT.toSeconds() + " s"));
    }

    /** Polls query-migrate until the migration completes; its downtime in ms. A failed migration is a failure. */
    static long awaitMigration(QemuProcess src) {
        long deadline = System.nanoTime() + MIGRATION_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode m = src.qmp().execute("query-migrate");
            String status = m.path("status").asText();
            switch (status) {
                case "completed" -> {
                    return m.path("downtime").asLong();
                }
                case "failed", "cancelled" -> throw QemuException.failure("migration " + status
                        + (m.has("error-desc") ? ": " + m.get("error-desc").asText() : ""));
                default -> QemuProcess.sleep(Duration.ofMillis(2));
            }
        }
        throw QemuException.failure("migration did not complete within " + MIGRATION_TIMEOUT.toSeconds() + " s");
    }
}
