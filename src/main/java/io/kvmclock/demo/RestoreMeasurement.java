package io.kvmclock.demo;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.Saved;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.Placement;
import io.kvmclock.state.VcpuClockState;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.Units;

/**
 * What a restored guest sees, judged against the saved state and the destination host's clocks alone: none of
 * the restore methods' own arithmetic (TscPlan, Offsets) is used, so a method that places the TSC wrongly shows
 * it here. Each reading is taken once: KVM_GET_CLOCK when the restore returned (by the caller, before the
 * guest may run), the guest's first TSC and pvclock after resume, the vCPU's rate and offset, KVM_GET_CLOCK again.
 */
public final class RestoreMeasurement {
    private RestoreMeasurement() {}

    /** The guest-visible errors of one restore; see {@link TrialResult.Measured} for what each one means. */
    public record Readout(long kvmclockErrorNs, long tscErrorCycles, long hostTimeErrorNs, boolean steppedBackwards,
                          boolean tscScaled) {}

    /**
     * Measures vCPU 0 of {@code dst} after a restore of {@code saved}; {@code atRestore} is KVM_GET_CLOCK read
     * when the restore returned (no vCPU has run since), {@code kLast} the guest's last kvmclock reading before
     * the pause, {@code tscPolicy} what the method promises for the guest TSC over the blackout, and
     * {@code placement} where the experiment really put the guest (its own knowledge, not
     * {@link ClockState#placementOn}, the rule the methods judge by: a mistake in that rule must show here too).
     */
    public static Readout measure(Hypervisor hv, DowntimePolicy tscPolicy, Placement.Kind placement, ClockState saved, long kLast,
                                  ClockData atRestore, ClockGuest dst) {
        long tFirst = dst.readTsc();
        PvclockTimeInfo after = dst.readPvclock();
        long first = after.read(tFirst);
        long kvmclockError = first - extended(Saved.pvclock(saved, 0), tFirst);
        boolean backwards = first - kLast < 0;

        // the guest TSC as KVM runs it on this host (kvm_read_l1_tsc): scaled where its rate is not the host's
        TscRate rate = hv.tscRateFor(dst.vcpu().getTscKhz());
        long offset = dst.vcpu().getTscOffset();
        long tscError = rate.scale(atRestore.hostTsc()) + offset
                - expectedGuestTsc(saved, 0, tscPolicy, placement, atRestore, rate);

        ClockData now = dst.vm().getClock();
        long guestNow = after.read(rate.scale(now.hostTsc()) + offset);
        long reference = saved.clock().clock() + (now.realtime() - saved.clock().realtime());
        return new Readout(kvmclockError, tscError, guestNow - reference, backwards, rate.scaled());
    }

    /**
     * The guest TSC vCPU {@code index} should read at the destination instant {@code at} under {@code policy}.
     * From the capture instant's guest TSC {@code g0} (the source's KVM_GET_CLOCK host TSC, scaled and offset as
     * saved):
     * <ul>
     *   <li>FREEZE: {@code g0}, the guest TSC resumes where it was saved;</li>
     *   <li>ADVANCE where the host TSC kept counting (same boot, kexec): {@code g0} plus the host cycles since,
     *       at the guest's rate, the TSC never having stopped;</li>
     *   <li>ADVANCE on another host: {@code g0} plus the realtime elapsed in guest cycles
     *       (Documentation/virt/kvm/devices/vcpu.rst, "TSC offset").</li>
     * </ul>
     */
    public static long expectedGuestTsc(ClockState saved, int index, DowntimePolicy policy, Placement.Kind placement,
                                        ClockData at, TscRate destinationRate) {
        VcpuClockState v = saved.vcpus().get(index);
        ClockData source = saved.clock();
        long g0 = v.scaling().scale(source.hostTsc()) + v.tscOffset();
        return switch (policy) {
            case FREEZE -> g0;
            case ADVANCE -> placement.isLiveUpdate()
                    ? g0 + destinationRate.scale(at.hostTsc()) - destinationRate.scale(source.hostTsc())
                    : g0 + Units.nsToCycles(Math.max(0, at.realtime() - source.realtime()), v.tscKhz());
        };
    }

    /**
     * The saved pvclock function at guest TSC {@code tsc}, extended backwards below its tsc_timestamp. The
     * kernel's u64 delta (__pvclock_read_cycles) would wrap there; a guest never evaluates the old function, but
     * this comparison does, and a guest TSC put back before the saved timestamp must read as a negative span.
     */
    static long extended(PvclockTimeInfo p, long tsc) {
        return Long.compareUnsigned(tsc, p.tscTimestamp()) >= 0
                ? p.read(tsc)
                : p.systemTime() - p.scale().scaleDelta(p.tscTimestamp() - tsc);
    }
}
