package io.kvmclock.guest;

import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.kvm.RealKvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * The second process of a live update: maps the shared guest memory file, resumes the paused clock guest from
 * a snapshot file, and prints what it saw. Run by ClockGuestTest with args: memory-file snapshot-file.
 */
public final class ResumeInChild {
    public static void main(String[] args) throws Exception {
        ClockGuest.Snapshot s = ClockGuest.Snapshot.fromBytes(Files.readAllBytes(Path.of(args[1])));
        try (Hypervisor hv = KvmHypervisor.open(RealKvm.device());
             Vm vm = hv.createVm(new VmConfig(VmConfig.DEFAULT_MEMORY, Optional.of(Path.of(args[0]))))) {
            byte[] code = vm.memory().read(ClockGuestAbi.CODE_GPA, ClockGuest.CODE.length);
            Vcpu v = vm.createVcpu(0);
            ClockGuest g = ClockGuest.resume(vm, v, s);
            VcpuExit first = v.run();
            long tsc = g.readTsc();
            System.out.println("code=" + Arrays.equals(code, ClockGuest.CODE));
            System.out.println("first=" + first);
            System.out.println("tsc=" + Long.toUnsignedString(tsc));
            System.out.println("version=" + g.readPvclock().version());
        }
    }
}
