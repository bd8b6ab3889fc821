package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.kvm.HostProbe;
import io.kvmclock.kvm.KvmHypervisor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "probe",
        mixinStandardHelpOptions = true,
        description = {
            "What this host's KVM can do for guest clocks, checked with a running guest.",
            "",
            "Probe this host's KVM clock support on real /dev/kvm: CPU vendor (which decides the TSC scaling format, VMX or SVM), kernel, KVM API version and vendor module, the clock capabilities, whether KVM_[GS]ET_CLOCK_GUEST exist, the host tsc_khz and clocksource, whether TSC offset and IA32_TSC writes take effect (on throwaway vCPUs); then boot the clock guest, check that the master clock engages, read the guest's pvclock and check that its mul/shift equal kvm_get_time_scale(1e9, vCPU tsc_khz * 1000). It also asks the guest's vCPU for KVM_VCPU_TSC_SCALE (the v6 series' read-only scaling ratio; JSON tscScaleAttribute, with the errno when the kernel refuses: ENXIO without TSC control or before the series). The first line names the host the way the docs name where a measurement was taken; `demo --backend sim` models this host from the same probe."
        },
        footer = {
            "",
            "Exit codes: 0 self-check passed, 1 self-check failed, 3 no usable /dev/kvm.",
            "Example:",
            "  kvmclock probe --json"
        })
final class ProbeCommand implements Callable<Integer> {

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Option(names = "--device", paramLabel = "PATH", description = "The KVM device node (default: ${DEFAULT-VALUE}).")
    Path device = Path.of(KvmHypervisor.DEVICE);

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (Files.isDirectory(device)) {
            throw UserError.badInput("--device " + device + " is a folder: give the KVM device node, e.g. /dev/kvm");
        }
        if (Files.exists(device) && (Files.isRegularFile(device) || device.toString().isEmpty())) {
            throw UserError.badInput("--device " + device + " is a regular file, not a device node: give e.g. /dev/kvm");
        }
        HostProbe r;
        try (Hypervisor hv = KvmHypervisor.open(device)) {
            r = HostProbe.run(hv);
        }
        var out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(toJson(r)));
        } else {
            out.println(r.profile().summary());
            table(r).print(out);
        }
        return r.selfCheck() ? ExitCode.OK : ExitCode.FAILURE;
    }

    static ObjectNode toJson(HostProbe r) {
        ObjectNode root = Json.object();
        root.put("summary", r.profile().summary());
        root.put("cpuVendor", r.cpuVendor());
        root.put("cpuModel", r.cpuModel());
        root.put("kernel", r.host().kernel());
        ObjectNode kvm = root.putObject("kvm");
        kvm.put("apiVersion", r.host().kvmApiVersion());
        kvm.put("module", r.vendorModule());
        ObjectNode caps = root.putObject("capabilities");
        caps.put("adjustClockFlags", r.caps().adjustClockFlags());
        caps.put("tscControl", r.caps().tscControl());
        caps.put("vmTscControl", r.caps().vmTscControl());
        caps.put("kvmclockCtrl", r.caps().kvmclockCtrl());
        caps.put("vcpuAttributes", r.caps().vcpuAttributes());
        root.put("clockGuest", r.caps().clockGuest());
        root.put("tscKhz", r.host().tscKhz());
        root.put("clocksource", r.host().clocksource());
        root.put("masterClock", r.masterClock());
        root.put("getClockFlags", r.clockFlags());
        root.put("tscOffsetWritable", r.tscOffsetWritable());
        root.put("tscMsrWritable", r.tscMsrWritable());
        switch (r.tscScale()) {
            case HostProbe.ScaleAnswer.Read read -> {
                root.put("tscScaleAttribute", true);
                Json.putUnsigned(root.putObject("tscScale"), "tscRatio", read.scale().tscRatio())
                        .put("tscFracBits", read.scale().tscFracBits());
            }
            case HostProbe.ScaleAnswer.Refused no -> {
                root.put("tscScaleAttribute", false);
                root.put("tscScaleErrno", Errno.describe(no.errno()));
            }
        }
        ObjectNode pv = root.putObject("pvclock");
        Json.putPvclock(pv, r.pvclock());
        ObjectNode pred = root.putObject("predicted");
        pred.put("vcpuTscKhz", r.vcpuTscKhz());
        pred.put("mul", r.predicted().mul());
        pred.put("shift", r.predicted().shift());
        root.put("selfCheck", r.selfCheck() ? "pass" : "fail");
        return root;
    }

    static Table table(HostProbe r) {
        ClockCapabilities c = r.caps();
        return new Table()
                .row("CPU", r.cpuModel(), r.cpuVendor())
                .row("kernel", r.host().kernel(), "")
                .row("KVM API version", Integer.toString(r.host().kvmApiVersion()), "module " + r.vendorModule())
                .row("ADJUST_CLOCK flags", String.format("0x%x", c.adjustClockFlags()), adjustFlagNames(c.adjustClockFlags()))
                .row("TSC_CONTROL", yes(c.tscControl()), c.tscControl()
                        ? "TSC scaling, " + r.profile().tscScaling().orElseThrow() + " ratio format"
                        : "no TSC scaling: KVM_SET_TSC_KHZ only catches up")
                .row("VM_TSC_CONTROL", yes(c.vmTscControl()), "VM-scope KVM_SET_TSC_KHZ")
                .row("KVMCLOCK_CTRL", yes(c.kvmclockCtrl()), "")
                .row("VCPU_ATTRIBUTES", yes(c.vcpuAttributes()), "KVM_VCPU_TSC_OFFSET")
                .row("TSC_SCALE attribute", yes(r.tscScale() instanceof HostProbe.ScaleAnswer.Read), switch (r.tscScale()) {
                    case HostProbe.ScaleAnswer.Read read -> String.format("ratio 0x%x, %d fractional bits",
                            read.scale().tscRatio(), read.scale().tscFracBits());
                    case HostProbe.ScaleAnswer.Refused no -> "KVM_VCPU_TSC_SCALE (v6 series): " + Errno.describe(no.errno());
                })
                .row("TSC offset writable", yes(r.tscOffsetWritable()), r.tscOffsetWritable() ? "" : "writes accepted and ignored")
                .row("IA32_TSC writable", yes(r.tscMsrWritable()), r.tscMsrWritable() ? "host MSR write moves the guest TSC"
                        : "writes accepted and ignored")
                .row("CLOCK_GUEST", yes(c.clockGuest()), c.clockGuest() ? "KVM_[GS]ET_CLOCK_GUEST present"
                        : r.masterClock() ? "kernel lacks KVM_[GS]ET_CLOCK_GUEST (EINVAL with the master clock on)"
                        : "unknown: without a master clock both answers are EINVAL")
                .row("host tsc_khz", Long.toString(r.host().tscKhz()), "KVM_GET_TSC_KHZ on a vCPU")
                .row("clocksource", r.host().clocksource(), "")
                .row("master clock", yes(r.masterClock()), String.format("KVM_GET_CLOCK flags 0x%x", r.clockFlags()))
                .row("pvclock mul", Long.toString(r.pvclock().mul()), "from guest memory")
                .row("pvclock shift", Integer.toString(r.pvclock().shift()), "")
                .row("predicted mul", Long.toString(r.predicted().mul()), "kvm_get_time_scale(1e9, " + r.vcpuTscKhz() + " kHz)")
                .row("predicted shift", Integer.toString(r.predicted().shift()), "")
                .row("self-check", r.selfCheck() ? "pass" : "FAIL", "");
    }

    private static String yes(boolean b) {
        return b ? "yes" : "no";
    }

    /** The known flags only: the hex value beside them shows the rest. */
    private static String adjustFlagNames(int flags) {
        return String.join(" ", ClockData.flagNames(flags & ClockData.VALID_FLAGS));
    }
}
