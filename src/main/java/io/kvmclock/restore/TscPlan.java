package io.kvmclock.restore;

import io.kvmclock.hv.ClockData;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.VcpuClockState;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.Units;

/**
 * The TSC offset each vCPU needs on the destination, from the saved state and one KVM_GET_CLOCK reading
 * there (host TSC {@code t1}, realtime {@code r1}). The guest TSC at the capture instant was
 * {@code g0 = scale_src(t0) + off} (t0: KVM_GET_CLOCK's host_tsc on the source); at t1 it must be
 * {@code g0 + elapsed}, and the offset is that minus {@code scale_dst(t1)}, elapsed being:
 * <ul>
 *   <li>ADVANCE on a host whose TSC kept counting (same host, or kexec): the saved offset is kept, exactly;</li>
 *   <li>ADVANCE on another host: the realtime elapsed {@code r1 - r0} in guest cycles (the formula of Documentation/virt/kvm/devices/vcpu.rst);</li>
 *   <li>FREEZE: zero.</li>
 * </ul>
 */
public record TscPlan(DowntimePolicy policy, boolean hostTscContinues) {

    public long offsetFor(ClockState saved, int vcpuIndex, ClockData destination, TscRate destinationRate) {
        VcpuClockState v = saved.vcpus().get(vcpuIndex);
        if (policy == DowntimePolicy.ADVANCE && hostTscContinues) {
            return v.tscOffset();
        }
        ClockData source = saved.clock();
        long g0 = v.scaling().scale(source.hostTsc()) + v.tscOffset();
        long elapsed = policy == DowntimePolicy.ADVANCE
                ? Units.nsToCycles(Math.max(0, destination.realtime() - source.realtime()), v.tscKhz()) : 0;
        return g0 + elapsed - destinationRate.scale(destination.hostTsc());
    }
}
