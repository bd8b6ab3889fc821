package io.kvmclock.inspect;

import io.kvmclock.drift.StepMeasurement;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.time.PvclockTimeInfo;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * A process the inspector did not start holding a real KVM VM with the clock guest, as a VMM would. Run by the
 * inspect tests in a second JVM. Argument: {@code kvmclock} (boot the guest, which enables kvmclock) or
 * {@code silent} (create the VM and vCPU, never run it: no pvclock); optionally the guest RAM in MiB (default 2)
 * and {@code fill} to write every page of it (a guest that has touched all its RAM). Prints one {@code ready ...} line, then
 * answers commands on stdin, one line each, until stdin closes:
 * <ul>
 *   <li>{@code pvclock}: the guest's pvclock as the guest reads it;</li>
 *   <li>{@code crc}: the CRC32 of all guest RAM (to show that an inspection wrote nothing);</li>
 *   <li>{@code offset}: the vCPU's TSC offset as KVM_GET_DEVICE_ATTR gives it to the VMM;</li>
 *   <li>{@code refresh}: a new master clock reference (the TSC offset write drift --measure uses) and the
 *       step the guest saw;</li>
 *   <li>{@code move GPA}: the guest's kvmclock MSR pointed at another page, the old one cleared, as a guest
 *       moving its pvclock does.</li>
 * </ul>
 */
public final class GuestInChild {
    public static void main(String[] args) throws Exception {
        boolean enable = args.length == 0 || args[0].equals("kvmclock");
        long ram = (args.length > 1 ? Long.parseLong(args[1]) : 2) << 20;
        try (Hypervisor hv = KvmHypervisor.open(RealKvm.device()); Vm vm = hv.createVm(new VmConfig(ram, Optional.empty()))) {
            if (args.length > 2 && args[2].equals("fill")) {
                fill(vm);
            }
            Vcpu vcpu = vm.createVcpu(0);
            ClockGuest g = ClockGuest.boot(vm, vcpu);
            long khz = vcpu.getTscKhz();
            long gpa = ClockGuestAbi.PVCLOCK_GPA;
            if (!enable) {
                System.out.println("ready tscKhz=" + khz);
            } else {
                g.readTsc();
                g.readTsc();
                System.out.println("ready tscKhz=" + khz + " " + describe(readAt(vm, gpa)));
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] w = line.strip().split(" ");
                switch (w[0]) {
                    case "pvclock" -> System.out.println(describe(readAt(vm, gpa)));
                    case "crc" -> System.out.println("crc=" + crc(vm));
                    case "offset" -> System.out.println("offset=" + vcpu.getTscOffset());
                    case "refresh" -> {
                        PvclockTimeInfo before = readAt(vm, gpa);
                        long off = vcpu.getTscOffset();
                        vcpu.setTscOffset(off + 1);
                        vcpu.setTscOffset(off);
                        long t = g.readTsc();
                        PvclockTimeInfo after = readAt(vm, gpa);
                        StepMeasurement.Result r = StepMeasurement.evaluate(StepMeasurement.Trigger.TSC_OFFSET, "kvm",
                                khz, 0, before, after, t, vcpu.getTscOffset() - off);
                        System.out.println("step measured=" + r.measuredStepNs() + " predicted=" + r.predictedStepNs()
                                + " hostCycles=" + r.hostCycles() + " " + describe(after));
                    }
                    case "move" -> {
                        long to = Long.decode(w[1]);
                        vcpu.setMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW, to | 1);
                        vm.memory().write(gpa, new byte[PvclockTimeInfo.SIZE]);
                        gpa = to;
                        g.readTsc();
                        System.out.println("moved " + describe(readAt(vm, gpa)));
                    }
                    default -> System.out.println("unknown command " + w[0]);
                }
            }
        }
    }

    /** Read as a guest does, version before and after; the clock guest's readPvclock knows only its own GPA. */
    private static PvclockTimeInfo readAt(Vm vm, long gpa) {
        while (true) {
            PvclockTimeInfo p = PvclockTimeInfo.decode(vm.memory().read(gpa, PvclockTimeInfo.SIZE));
            PvclockTimeInfo q = PvclockTimeInfo.decode(vm.memory().read(gpa, PvclockTimeInfo.SIZE));
            if (p.equals(q) && (p.version() & 1) == 0) {
                return p;
            }
        }
    }

    /** Every page of guest RAM written (above the clock guest's pages), so every page is present. */
    private static void fill(Vm vm) {
        byte[] chunk = new byte[1 << 20];
        new Random(1).nextBytes(chunk);
        for (long at = 1 << 20; at < vm.memory().size(); at += chunk.length) {
            vm.memory().write(at, chunk);
        }
    }

    private static long crc(Vm vm) {
        CRC32 c = new CRC32();
        for (long at = 0; at < vm.memory().size(); at += 1 << 20) {
            c.update(vm.memory().read(at, (int) Math.min(1 << 20, vm.memory().size() - at)));
        }
        return c.getValue();
    }

    private static String describe(PvclockTimeInfo p) {
        return "version=" + p.version() + " tscTimestamp=" + Long.toUnsignedString(p.tscTimestamp())
                + " systemTime=" + p.systemTime() + " mul=" + p.mul() + " shift=" + p.shift() + " flags=" + p.flags();
    }
}
