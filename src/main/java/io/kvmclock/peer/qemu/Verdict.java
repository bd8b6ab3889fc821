package io.kvmclock.peer.qemu;

import io.kvmclock.demo.Summary;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.time.Units;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether the re-implementation behaves as real QEMU did in one scenario. The rule (docs/qemu-peer.md):
 * <ol>
 *   <li>the same kvmclock policy: each side's is FREEZE when its median host time error is below minus half
 *       its median pause, else ADVANCE;</li>
 *   <li>the same TSC policy, by the same test on the TSC error in cycles;</li>
 *   <li>the same residual kvmclock error, within {@link #TOLERANCE_NS}: the median over trials of the kvmclock
 *       error plus, for a freezing kvmclock, that trial's pause (the part of the pause the kvmclock counted
 *       after all; negative when it froze for longer than the host saw);</li>
 *   <li>backward steps on both sides or on neither;</li>
 *   <li>the same pvclock flags after the pause in the last trial (TSC_STABLE, and GUEST_STOPPED from KVMCLOCK_CTRL).</li>
 * </ol>
 */
public record Verdict(DowntimePolicy qemuKvmclock, DowntimePolicy qemuTsc, DowntimePolicy reimplKvmclock,
                      DowntimePolicy reimplTsc, long qemuResidualNs, long reimplResidualNs, boolean agrees,
                      List<String> differences) {

    /**
     * 5 ms. The residual is VMM-internal timing at the edges of the pause, not clock policy: QEMU stamps its
     * STOP and RESUME events in its main loop, before its KVM_GET_CLOCK/after its KVM_SET_CLOCK is not
     * guaranteed (measured here: residuals of -1.5 to +0.3 ms at the median), and the project's VMM counts
     * its memory copy and a fresh VM's first entry outside the frozen span (+0.8 to +3.4 ms), on a busy
     * 2-core host. A policy difference is the size of the pause (100 ms and more) or is caught by rules 1-2.
     */
    public static final long TOLERANCE_NS = 5_000_000;

    /** The rule in one sentence, for the outputs. */
    public static final String RULE = "agrees when both sides show the same kvmclock and TSC policy (freeze when the median "
            + "error against host time is below minus half the median pause), the same residual kvmclock error (the "
            + "median over trials of the kvmclock error plus, where it freezes, that trial's pause) within "
            + TOLERANCE_NS / 1_000_000 + " ms, the same pvclock flags after the pause, and backward steps on both sides or neither";

    public static Verdict of(List<Observation> qemu, List<Observation> reimpl, long tscKhz) {
        Side q = Side.of(qemu, tscKhz);
        Side r = Side.of(reimpl, tscKhz);
        List<String> diff = new ArrayList<>();
        if (q.kvmclock != r.kvmclock) {
            diff.add("kvmclock: QEMU " + q.kvmclock.label() + ", re-implementation " + r.kvmclock.label());
        }
        if (q.tsc != r.tsc) {
            diff.add("TSC: QEMU " + q.tsc.label() + ", re-implementation " + r.tsc.label());
        }
        if (Math.abs(q.residualNs - r.residualNs) > TOLERANCE_NS) {
            diff.add(String.format("residual kvmclock error: QEMU %,d ns, re-implementation %,d ns (tolerance %,d)",
                    q.residualNs, r.residualNs, TOLERANCE_NS));
        }
        if (q.flags != r.flags) {
            diff.add("pvclock flags after the pause: QEMU 0x" + Integer.toHexString(q.flags) + ", re-implementation 0x"
                    + Integer.toHexString(r.flags));
        }
        if ((q.backwards > 0) != (r.backwards > 0)) {
            diff.add("stepped backwards: QEMU " + q.backwards + ", re-implementation " + r.backwards);
        }
        return new Verdict(q.kvmclock, q.tsc, r.kvmclock, r.tsc, q.residualNs, r.residualNs, diff.isEmpty(), List.copyOf(diff));
    }

    private record Side(DowntimePolicy kvmclock, DowntimePolicy tsc, long residualNs, long backwards, int flags) {
        static Side of(List<Observation> os, long tscKhz) {
            long pauseNs = Summary.of(os.stream().mapToLong(o -> o.pauseMicros() * 1000).toArray()).median();
            long host = Summary.of(os.stream().mapToLong(Observation::hostTimeErrorNs).toArray()).median();
            long tsc = Summary.of(os.stream().mapToLong(Observation::tscErrorCycles).toArray()).median();
            DowntimePolicy k = host < -pauseNs / 2 ? DowntimePolicy.FREEZE : DowntimePolicy.ADVANCE;
            DowntimePolicy t = tsc < -Units.nsToCycles(pauseNs, tscKhz) / 2 ? DowntimePolicy.FREEZE : DowntimePolicy.ADVANCE;
            // per trial, so that each pause is taken out of its own trial's error
            long residual = Summary.of(os.stream().mapToLong(o -> o.kvmclockErrorNs()
                    + (k == DowntimePolicy.FREEZE ? o.pauseMicros() * 1000 : 0)).toArray()).median();
            return new Side(k, t, residual, os.stream().filter(Observation::steppedBackwards).count(),
                    os.getLast().pvclockFlagsAfter());
        }
    }
}
