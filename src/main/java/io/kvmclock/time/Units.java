package io.kvmclock.time;

/** Nanoseconds and TSC cycles at a frequency given in kHz, exact floors over 128-bit products. */
public final class Units {
    private Units() {}

    public static final long NS_PER_MS = 1_000_000L;

    /** floor(ns * khz / 1e6). */
    public static long nsToCycles(long ns, long tscKhz) {
        return U128.mulDiv(ns, tscKhz, NS_PER_MS);
    }

    /** As {@link #nsToCycles} for a signed span: the cycles of |ns|, with the sign of ns. */
    public static long nsToCyclesSigned(long ns, long tscKhz) {
        return ns >= 0 ? nsToCycles(ns, tscKhz) : -nsToCycles(-ns, tscKhz);
    }

    /** floor(cycles * 1e6 / khz). */
    public static long cyclesToNs(long cycles, long tscKhz) {
        return U128.mulDiv(cycles, NS_PER_MS, tscKhz);
    }

    /**
     * KVM's own nsec_to_cycles: pvclock_scale_delta(ns, virtual_tsc_mult, virtual_tsc_shift) with
     * kvm_get_time_scale(khz * 1000, NSEC_PER_SEC), as kvm_set_tsc_khz sets them up.
     */
    public static long nsToCyclesKvm(long ns, long tscKhz) {
        return TimeScale.kvmGetTimeScale(tscKhz * 1000, TimeScale.NSEC_PER_SEC).scaleDelta(ns);
    }
}
