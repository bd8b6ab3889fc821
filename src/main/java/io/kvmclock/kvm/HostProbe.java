package io.kvmclock.kvm;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.hv.HostProfile;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.TscScale;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What one probe of a host found: its identity and capabilities, and what a running clock guest and two
 * throwaway vCPUs showed (the master clock, the guest's pvclock against kvm_get_time_scale, whether TSC
 * writes take effect). The probe command prints it; the model of this host is built from {@link #profile()}.
 */
public record HostProbe(HostInfo host, String cpuVendor, String cpuModel, String vendorModule, ClockCapabilities caps,
                        boolean masterClock, int clockFlags, long vcpuTscKhz, PvclockTimeInfo pvclock,
                        TimeScale predicted, boolean tscOffsetWritable, boolean tscMsrWritable, ScaleAnswer tscScale) {

    /** KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_SCALE) on the guest's vCPU: the ratio, or the errno it was refused with. */
    public sealed interface ScaleAnswer {
        record Read(TscScale scale) implements ScaleAnswer {}

        record Refused(int errno) implements ScaleAnswer {}

        static ScaleAnswer of(Vcpu v) {
            try {
                return new Read(v.getTscScale());
            } catch (HvException e) {
                return new Refused(e.errno());
            }
        }
    }

    /** The guest's pvclock mul/shift are what kvm_get_time_scale gives for the vCPU's tsc_khz. */
    public boolean selfCheck() {
        return pvclock.scale().equals(predicted);
    }

    public HostProfile profile() {
        return new HostProfile(cpuVendor, cpuModel, host.kernel(), vendorModule, host.tscKhz(), host.clocksource(),
                caps.tscControl() ? Optional.of(HostProfile.scalingFormat(cpuVendor)) : Optional.empty(),
                caps.vmTscControl(), caps.clockGuest(), tscOffsetWritable, tscMsrWritable);
    }

    /** Probes {@code hv} (real KVM; the model answers too, with its CPU fields read from this machine). */
    public static HostProbe run(Hypervisor hv) {
        HostInfo host = hv.host();
        ClockCapabilities caps = hv.capabilities();
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            ClockGuest g = ClockGuest.boot(vm);
            g.readTsc();
            g.readTsc();
            ClockData clock = vm.getClock();
            PvclockTimeInfo p = g.readPvclock();
            long khz = g.vcpu().getTscKhz();
            boolean master = clock.has(ClockData.TSC_STABLE) && p.tscStable();
            return new HostProbe(host, cpuinfo("vendor_id"), cpuinfo("model name"), loadedVendorModule(), caps, master,
                    clock.flags(), khz, p, TimeScale.forGuestKhz(khz),
                    caps.vcpuAttributes() && tscOffsetWritable(hv), tscMsrWritable(hv), ScaleAnswer.of(g.vcpu()));
        }
    }

    /** Writes offset+1000 on a throwaway vCPU and reads it back: kvm_pvm, for one, ignores the write. */
    private static boolean tscOffsetWritable(Hypervisor hv) {
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            Vcpu v = vm.createVcpu(0);
            long want = v.getTscOffset() + 1000;
            v.setTscOffset(want);
            return v.getTscOffset() == want;
        }
    }

    /** Writes IA32_TSC one second of cycles ahead on a throwaway vCPU: does the guest TSC follow? */
    private static boolean tscMsrWritable(Hypervisor hv) {
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            Vcpu v = vm.createVcpu(0);
            long second = hv.host().tscKhz() * 1000;
            long t0 = v.getMsr(Vcpu.MSR_IA32_TSC);
            v.setMsr(Vcpu.MSR_IA32_TSC, t0 + second);
            long moved = v.getMsr(Vcpu.MSR_IA32_TSC) - t0;
            return Long.compareUnsigned(moved, second / 2) > 0;
        }
    }

    static String loadedVendorModule() {
        for (String m : List.of("kvm_intel", "kvm_amd", "kvm_pvm")) {
            if (Files.exists(Path.of("/sys/module", m))) {
                return m;
            }
        }
        return "unknown";
    }

    /** The value of the first {@code key} line of /proc/cpuinfo, or "unknown". */
    static String cpuinfo(String key) {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .map(l -> l.split(":", 2))
                    .filter(kv -> kv.length == 2 && kv[0].strip().equals(key))
                    .map(kv -> kv[1].strip())
                    .findFirst().orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
