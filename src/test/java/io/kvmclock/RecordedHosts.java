package io.kvmclock;

import io.kvmclock.sim.SimHostConfig;

/**
 * The tsc_khz of the recorded hosts whose kernel-checked values the tests hold (docs/kvm-clock.md), named
 * once from their presets so no test spells a machine's frequency.
 */
public final class RecordedHosts {
    private RecordedHosts() {}

    /** The AMD EPYC kvm_pvm host of 2026-11: pvclock, clocksource and drift checks. */
    public static final long AMD_KHZ = SimHostConfig.pvmAmd202611().tscKhz();
    /** The Intel Xeon kvm_pvm host of 2026-11 the model's stored latencies were fitted on. */
    public static final long INTEL_KHZ = SimHostConfig.pvmIntel202611().tscKhz();
}
