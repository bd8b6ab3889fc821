package io.kvmclock.restore;

import io.kvmclock.hv.ClockData;
import io.kvmclock.state.ClockState;
import io.kvmclock.time.Units;

/**
 * The TSC offset each vCPU needs on the destination, from the saved state and one KVM_GET_CLOCK reading
 * there (host TSC {@code t1}, realtime {@code r1}). The guest TSC at the capture instant was
 * {@code g0 = t0 + off} (KVM_GET_CLOCK's host_tsc t0 on the source); at the destination instant t1 it must
 * be {@code g0 + elapsed}, where elapsed is:
 * <ul>
 *   <li>ADVANCE on a host whose TSC kept counting (same host, or kexec): {@code t1 - t0}, so the offset
 *       is unchanged, exactly;</li>
 *   <li>ADVANCE on another host: the realtime elapsed {@code r1 - r0} in cycles (seed 002's formula);</li>
 *   <li>FREEZE: zero.</li>
 * </ul>
 * No TSC scaling (guest TSC = host TSC + offset), which is what this machine's KVM offers.
 */
public record TscPlan(DowntimePolicy policy, boolean hostTscContinues) {

    public long offsetFor(ClockState saved, int vcpuIndex, ClockData destination) {
        ClockData source = saved.clock();
        long off = saved.vcpus().get(vcpuIndex).tscOffset();
        long khz = saved.vcpus().get(vcpuIndex).tscKhz();
        long g0 = source.hostTsc() + off;
        long elapsed = switch (policy) {
            case ADVANCE -> hostTscContinues ? destination.hostTsc() - source.hostTsc()
                    : Units.nsToCycles(Math.max(0, destination.realtime() - source.realtime()), khz);
            case FREEZE, MIXED -> 0;
        };
        return g0 + elapsed - destination.hostTsc();
    }
}
