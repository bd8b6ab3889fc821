package io.kvmclock.sim;

/**
 * How long the modelled kernel paths take, each advancing the host time line: {@code ioctl} before any
 * ioctl acts, {@code setClockGap} inside KVM_SET_CLOCK between the new master clock reference and the
 * CLOCK_REALTIME read, {@code vcpuEntry} before each KVM_RUN reaches the guest.
 */
public record Latency(Distribution ioctl, Distribution setClockGap, Distribution vcpuEntry) {

    public static Latency none() {
        return new Latency(Distribution.ZERO, Distribution.ZERO, Distribution.ZERO);
    }

    /**
     * Fitted to this machine (Intel Xeon, nested KVM, 6.18, 2026-11-21) with tools/measure-sim-latency.c:
     * the KVM_SET_CLOCK gap resampled from 60 measured values (median 46 ns, p90 55 ns, first call of a run
     * 400-600 ns); one KVM_GET_CLOCK 293-333 ns; a KVM_RUN round trip 7.98-9.7 us (nested: exits are dear).
     */
    public static Latency thisMachine() {
        return new Latency(new Distribution.Uniform(310, 20), Distribution.fit(SET_CLOCK_GAP_NS),
                new Distribution.Uniform(8_400, 400));
    }

    private static final long[] SET_CLOCK_GAP_NS = {
        407, 31, 45, 54, 49, 38, 51, 51, 46, 49, 40, 31, 51, 45, 49, 38, 53, 49, 40, 39, 54, 50, 47, 57, 46, 46,
        49, 43, 35, 35, 48, 39, 36, 29, 47, 37, 38, 43, 40, 54, 42, 44, 49, 39, 49, 48, 52, 41, 39, 50, 56, 50,
        51, 51, 50, 42, 52, 32, 51, 46};
}
