package io.kvmclock.peer.qemu;

import io.kvmclock.peer.qemu.Firmware.Sample;
import io.kvmclock.time.Units;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.ToLongFunction;

/**
 * What one trial showed, from the guest's own samples (docs/qemu-peer.md, "What a trial measures"): the last
 * sample before the pause and the first after it, each also tied to a host CLOCK_MONOTONIC reading.
 * <ul>
 *   <li>{@code kvmclockErrorNs}: the kvmclock function after the pause minus the one before, both at the first
 *       guest TSC after it (0: the kvmclock is still the same function of the TSC; minus the pause: frozen);</li>
 *   <li>{@code tscErrorCycles}: how far the guest TSC advanced between the two host readings, minus the host time
 *       between them in cycles (0: the TSC kept running like hardware; minus the pause: frozen);</li>
 *   <li>{@code hostTimeErrorNs}: the same for the kvmclock in ns (0: kvmclock kept host time);</li>
 *   <li>{@code pauseMicros}: the pause the host saw (QEMU's STOP event to its RESUME event, or the
 *       re-implementation's capture to resume); {@code qemuDowntimeMs}: QEMU's own figure where it reports one;</li>
 *   <li>{@code steppedBackwards}: the first kvmclock reading after the pause is below the last one before;</li>
 *   <li>{@code pvclockFlagsAfter}: the pvclock flags of the first sample after it (bit 0 TSC_STABLE, bit 1
 *       GUEST_STOPPED, which KVMCLOCK_CTRL sets and this guest never clears).</li>
 * </ul>
 */
public record Observation(long kvmclockErrorNs, long tscErrorCycles, long hostTimeErrorNs, long pauseMicros,
                          OptionalLong qemuDowntimeMs, boolean steppedBackwards, int pvclockFlagsAfter) {

    /** A guest sample together with the host time it was read at. */
    public record Timed(long hostNs, Sample sample) {}

    /**
     * The trial's figures. {@code before}/{@code after} are the host-timed samples bracketing the pause;
     * {@code last}/{@code first} the guest's own last sample before it and first after (the same as the
     * bracketing samples where the host drives the guest, as on the project's own VMM).
     */
    public static Observation of(Timed before, Timed after, Sample last, Sample first, long tscKhz, long pauseMicros,
                                 OptionalLong qemuDowntimeMs) {
        long kvmclockError = first.pvclock().read(first.tsc()) - last.pvclock().read(first.tsc());
        long hostNs = after.hostNs() - before.hostNs();
        long tscError = (after.sample().tsc() - before.sample().tsc()) - Units.nsToCycles(hostNs, tscKhz);
        long hostTimeError = (after.sample().kvmclock() - before.sample().kvmclock()) - hostNs;
        boolean backwards = first.kvmclock() - last.kvmclock() < 0;
        return new Observation(kvmclockError, tscError, hostTimeError, pauseMicros, qemuDowntimeMs, backwards,
                first.pvclock().flags());
    }

    /** One figure of every trial, for a {@code Summary}. */
    public static long[] column(List<Observation> os, ToLongFunction<Observation> f) {
        return os.stream().mapToLong(f).toArray();
    }

    /** QEMU's reported downtimes, of the trials that have one (none for stop-cont). */
    public static long[] downtimes(List<Observation> os) {
        return os.stream().filter(o -> o.qemuDowntimeMs().isPresent()).mapToLong(o -> o.qemuDowntimeMs().getAsLong()).toArray();
    }
}
