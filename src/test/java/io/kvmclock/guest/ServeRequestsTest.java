package io.kvmclock.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.time.PvclockTimeInfo;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Vcpu.serveRequests: KVM serves a fresh vCPU's pending requests without entering the guest, so the guest's
 * first real entry takes no new master clock reference, and the guest has run no instruction.
 */
class ServeRequestsTest {

    /** A paused clock guest resumed in a fresh VM, its master clock engaged, as a restore finds it. */
    private static void check(Hypervisor hv) {
        try (Vm src = hv.createVm(VmConfig.defaults()); Vm dst = hv.createVm(VmConfig.defaults())) {
            ClockGuest g = ClockGuest.boot(src);
            g.readTsc();
            ClockGuest d = ClockGuest.resume(dst, dst.createVcpu(0), g.pause(true));
            dst.setClock(new ClockData(1_000_000_000_000L, 0, 0, 0));
            CpuState before = d.vcpu().saveCpuState();
            d.vcpu().serveRequests();
            CpuState after = d.vcpu().saveCpuState();
            assertArrayEquals(before.regs(), after.regs(), "the guest ran an instruction");
            dst.setClock(new ClockData(2_000_000_000_000L, 0, 0, 0));
            d.vcpu().serveRequests();
            PvclockTimeInfo served = d.readPvclock();
            d.readTsc(); // the first real entry
            PvclockTimeInfo entered = d.readPvclock();
            assertEquals(served.tscTimestamp(), entered.tscTimestamp(), "the first entry took a new master clock reference");
            assertEquals(served.systemTime(), entered.systemTime());
        }
    }

    @Test
    void onTheModel() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 3)) {
            check(hv);
        }
    }

    @Tag("kvm")
    @Test
    void onRealKvm() {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            check(hv);
        }
    }
}
