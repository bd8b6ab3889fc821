package io.kvmclock.sim;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * One sequence of hv operations, written only against {@link Hypervisor}, returning what the guest and the
 * ioctls reported. Runs on the model here; the differential test runs the same sequence on real KVM and
 * compares mul/shift and the kvmclock function.
 */
final class HvSequence {
    private HvSequence() {}

    static List<String> hotplugAndOffsetWrite(Hypervisor hv, long pauseNs) {
        List<String> log = new ArrayList<>();
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            Vcpu v0 = vm.createVcpu(0);
            GuestProbe.start(v0);
            GuestProbe.Reading r = GuestProbe.read(vm, v0);
            log.add("start " + r.pvclock().toHex() + " tsc " + r.tsc());
            hv.elapse(pauseNs);
            Vcpu v1 = vm.createVcpu(1);
            GuestProbe.start(v1);
            GuestProbe.readTsc(v1);
            GuestProbe.Reading r1 = GuestProbe.read(vm, v0);
            log.add("hotplug step " + (r1.kvmclock() - r.pvclock().read(r1.tsc())) + " pvclock " + r1.pvclock().toHex());
            v0.setTscOffset(v0.getTscOffset() + 1);
            GuestProbe.Reading r2 = GuestProbe.read(vm, v0);
            log.add("offset step " + (r2.kvmclock() - r1.pvclock().read(r2.tsc())) + " stable " + r2.pvclock().tscStable());
            ClockData c = vm.getClock();
            log.add("get_clock flags " + c.flags() + " clock " + c.clock());
            vm.setClock(new ClockData(c.clock(), ClockData.REALTIME, c.realtime(), 0));
            GuestProbe.Reading r3 = GuestProbe.read(vm, v0);
            log.add("set_clock step " + (r3.kvmclock() - r2.pvclock().read(r3.tsc())));
            try {
                PvclockTimeInfo p = v0.getClockGuest();
                log.add("get_clock_guest " + p.toHex());
            } catch (HvException e) {
                log.add("get_clock_guest errno " + e.errno());
            }
        }
        return log;
    }
}
