package io.kvmclock.restore;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.state.ClockState;
import io.kvmclock.time.Units;
import java.util.List;
import java.util.Optional;

/**
 * The migration algorithm of Documentation/virt/kvm/devices/vcpu.rst (docs/kvm-clock.md): KVM_SET_CLOCK(k0, r0,
 * REALTIME), KVM_GET_CLOCK for (t1, k1), then every vCPU's offset
 * {@code new_off = t0 + off + (k1 - k0) * freq - t1}. Guest time advances across the blackout.
 */
public record DocumentedMethod() implements RestoreMethod {
    @Override
    public String name() {
        return "documented";
    }

    @Override
    public String summary() {
        return "KVM docs (devices/vcpu.rst): KVM_SET_CLOCK(k0, r0, REALTIME), KVM_GET_CLOCK, offsets t0+off+(k1-k0)*freq-t1";
    }

    @Override
    public DowntimePolicy kvmclockPolicy() {
        return DowntimePolicy.ADVANCE;
    }

    @Override
    public DowntimePolicy tscPolicy() {
        return DowntimePolicy.ADVANCE;
    }

    @Override
    public Optional<UnsupportedReason> unsupportedReason(ClockCapabilities caps) {
        return Offsets.needsOffsetAttribute(caps);
    }

    @Override
    public RestoreReport restore(RestoreTarget t, ClockState saved) {
        Offsets.matchRates(t, saved);
        ClockData s = saved.clock();
        t.vm().setClock(new ClockData(s.clock(), ClockData.REALTIME, s.realtime(), 0));
        ClockData now = t.vm().getClock();
        for (int i = 0; i < t.vcpus().size(); i++) {
            var v = saved.vcpus().get(i);
            long cycles = Units.nsToCyclesSigned(now.clock() - s.clock(), v.tscKhz());
            t.vcpus().get(i).setTscOffset(s.hostTsc() + v.tscOffset() + cycles - now.hostTsc());
        }
        return RestoreReport.simple(name(), List.of());
    }
}
