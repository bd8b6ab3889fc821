package io.kvmclock.drift;

import io.kvmclock.time.Clocksource;
import io.kvmclock.time.Drift;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.U128;
import java.util.ArrayList;
import java.util.List;

/**
 * The CLOCK_GUEST series' kexec case (docs/kvm-clock.md): after a live update by kexec the TSC keeps counting, but the new host kernel may calibrate a
 * slightly different tsc_khz. Two choices for the guest's kvmclock from then on:
 * <ul>
 *   <li>KEEP: the guest's pvclock keeps the old mul/shift (old tsc_khz);</li>
 *   <li>TAKE: the guest's pvclock takes the new mul/shift (new tsc_khz).</li>
 * </ul>
 * In both cases the host raw clock (the master clock's base) converts with the new kernel's clocksource
 * mult/shift, and the TSC runs at its true rate, which the caller states (by default the new calibration).
 *
 * <p>All quantities are for c host cycles after the update's reference point, with the update itself
 * assumed exact (KVM_SET_CLOCK_GUEST: no step at the update):
 * <ul>
 *   <li>{@code stepAtRefresh} = raw_new(c) - pvclock_choice(c): the step the guest sees if KVM takes a new
 *       master clock reference then (positive: forward). This is the error that becomes visible.</li>
 *   <li>{@code errorVsTrue} = pvclock_choice(c) - floor(c * 1e6 / trueKhz): how far the guest's kvmclock has
 *       run from true elapsed time by then, with no refresh in between.</li>
 *   <li>{@code rawVsTrue} = raw_new(c) - floor(c * 1e6 / trueKhz): the host raw clock's own error; after any
 *       refresh the guest is re-based onto raw, so this is what both choices converge to.</li>
 * </ul>
 */
public final class KexecAnalysis {
    private KexecAnalysis() {}

    public enum Choice { KEEP_OLD, TAKE_NEW }

    public record Point(long seconds, long cycles, long stepKeepNs, long stepTakeNs, long errorKeepNs,
                        long errorTakeNs, long rawVsTrueNs) {}

    public record Result(long oldKhz, long newKhz, long trueKhz, TimeScale oldPvclock, TimeScale newPvclock,
                         Clocksource newClocksource, Drift keep, Drift take, List<Point> points, Choice recommended,
                         String reason) {}

    public static Result analyse(long oldKhz, long newKhz, long trueKhz, List<Long> secondsList) {
        TimeScale oldPv = TimeScale.forGuestKhz(oldKhz);
        TimeScale newPv = TimeScale.forGuestKhz(newKhz);
        Clocksource cs = Clocksource.forTscKhz(newKhz);
        Drift keep = new Drift(newKhz, oldPv, cs);
        Drift take = new Drift(newKhz, newPv, cs);
        List<Point> points = new ArrayList<>();
        for (long s : secondsList) {
            points.add(at(keep, take, oldPv, newPv, cs, trueKhz, s));
        }
        Point day = at(keep, take, oldPv, newPv, cs, trueKhz, RefreshPolicy.SECONDS_PER_DAY);
        Choice rec;
        String reason;
        if (oldKhz == newKhz) {
            rec = Choice.TAKE_NEW;
            reason = "old and new tsc_khz are equal: both choices are the same function";
        } else if (Math.abs(day.stepTakeNs()) <= Math.abs(day.stepKeepNs())) {
            rec = Choice.TAKE_NEW;
            reason = String.format("the master clock is based on the new kernel's raw clock: keeping the old "
                    + "mul/shift adds the %+d kHz calibration difference to the drift, so the step at a refresh "
                    + "after 1 day is %,d ns instead of %,d ns", newKhz - oldKhz, day.stepKeepNs(), day.stepTakeNs());
        } else {
            rec = Choice.KEEP_OLD;
            reason = String.format("here the old mul/shift happens to round closer to the new raw clock: "
                    + "step after 1 day %,d ns (keep) versus %,d ns (take)", day.stepKeepNs(), day.stepTakeNs());
        }
        return new Result(oldKhz, newKhz, trueKhz, oldPv, newPv, cs, keep, take, points, rec, reason);
    }

    private static Point at(Drift keep, Drift take, TimeScale oldPv, TimeScale newPv, Clocksource cs, long trueKhz,
                            long s) {
        long c = DriftPredictor.cycles(trueKhz, s);
        long trueNs = U128.mulDiv(c, 1_000_000L, trueKhz);
        return new Point(s, c, keep.stepNs(c), take.stepNs(c), oldPv.scaleDelta(c) - trueNs,
                newPv.scaleDelta(c) - trueNs, cs.cyclesToNs(c) - trueNs);
    }
}
