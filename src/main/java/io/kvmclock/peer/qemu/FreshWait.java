package io.kvmclock.peer.qemu;

import java.time.Duration;

/**
 * How long {@link GuestClock#freshBeat} goes on trying. A fresh heartbeat needs this reader and QEMU's vCPU
 * thread running at the same moment, which a host busy with other work grants rarely (seconds apart at load 9
 * on two CPUs; never on one), so the wait is not a fixed time: it ends as a failure only when the guest has
 * published nothing for the stall limit (it is not running), or, while it keeps publishing, when the patience
 * is used up. Times are {@link System#nanoTime()} values passed in by the caller.
 */
final class FreshWait {
    /** While the guest runs: far beyond the worst wait seen on a loaded host, short of a hung CI job. */
    static final Duration PATIENCE = Duration.ofMinutes(2);

    private final long startNs;
    private final long stallNs;
    private final long patienceNs;
    private long seq;
    private long progressNs;
    private long published;

    FreshWait(long nowNs, long seq, Duration stall, Duration patience) {
        this.startNs = nowNs;
        this.stallNs = stall.toNanos();
        this.patienceNs = patience.toNanos();
        this.seq = seq;
        this.progressNs = nowNs;
    }

    /** Notes the heartbeat sequence read at {@code nowNs}; throws once the wait is over. */
    void saw(long heartbeatSeq, long nowNs) {
        if (heartbeatSeq != seq) {
            // the u32 sequence goes up by two per heartbeat (odd while one is written)
            published += ((heartbeatSeq - seq) & 0xFFFF_FFFFL) / 2;
            seq = heartbeatSeq;
            progressNs = nowNs;
        } else if (nowNs - progressNs > stallNs) {
            throw QemuException.failure("the guest published no heartbeat for " + stallNs / 1_000_000
                    + " ms: its vCPU is not running (QEMU stopped it, or the host gave it no CPU time;"
                    + " see that QEMU runs, and run with fewer other jobs)");
        }
        if (nowNs - startNs > patienceNs) {
            throw QemuException.environment("no fresh heartbeat from the guest in " + patienceNs / 1_000_000_000
                    + " s although it published " + published + ": reading one needs this process and QEMU's vCPU"
                    + " thread running at once, and this host is too busy for that; run it with fewer other jobs"
                    + " or on more CPUs");
        }
    }
}
