package io.kvmclock.sim;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * One sequence of hv operations through {@link ClockGuest}, written only against {@link Hypervisor}, returning
 * what the guest and the ioctls reported (the determinism test compares two runs of it).
 */
final class HvSequence {
    private HvSequence() {}

    static List<String> hotplugAndOffsetWrite(Hypervisor hv, long pauseNs) {
        List<String> log = new ArrayList<>();
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            ClockGuest g0 = ClockGuest.boot(vm);
            long t = g0.readTsc();
            PvclockTimeInfo p = g0.readPvclock();
            log.add("start " + p.toHex() + " tsc " + t);
            hv.elapse(pauseNs);
            ClockGuest g1 = ClockGuest.boot(vm, vm.createVcpu(1));
            g1.readTsc();
            long t1 = g0.readTsc();
            PvclockTimeInfo p1 = g0.readPvclock();
            log.add("hotplug step " + (p1.read(t1) - p.read(t1)) + " pvclock " + p1.toHex());
            g0.vcpu().setTscOffset(g0.vcpu().getTscOffset() + 1);
            long t2 = g0.readTsc();
            PvclockTimeInfo p2 = g0.readPvclock();
            log.add("offset step " + (p2.read(t2) - p1.read(t2)) + " stable " + p2.tscStable());
            ClockData c = vm.getClock();
            log.add("get_clock flags " + c.flags() + " clock " + c.clock());
            vm.setClock(new ClockData(c.clock(), ClockData.REALTIME, c.realtime(), 0));
            long t3 = g0.readTsc();
            log.add("set_clock step " + (g0.kvmclockAt(t3) - p2.read(t3)));
            try {
                log.add("get_clock_guest " + g0.vcpu().getClockGuest().toHex());
            } catch (HvException e) {
                log.add("get_clock_guest errno " + e.errno());
            }
        }
        return log;
    }
}
