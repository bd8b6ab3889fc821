package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.inspect.InspectException;
import io.kvmclock.inspect.ProcFs;
import io.kvmclock.inspect.VmProcess;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "vms",
        mixinStandardHelpOptions = true,
        description = {
            "List the processes on this host that hold a KVM VM.",
            "",
            "Every process with an anon_inode:kvm-vm fd: pid, VMM (qemu, firecracker,",
            "cloud-hypervisor, crosvm, kvmclock, or its comm), vCPUs (its kvm-vcpu",
            "fds), guest RAM (QEMU's -m, else the mappings VMMs make for RAM) and",
            "uptime. Read from /proc only; run as root to see other users' VMMs.",
            "Inspect one with 'kvmclock inspect PID'."
        },
        footer = {"", "Examples:", "  kvmclock vms", "  kvmclock vms --json | jq '.vms[].pid'"})
final class VmsCommand implements Callable<Integer> {

    @Option(names = "--json", description = "Print JSON for scripts: {\"vms\": [{pid, vmm, vcpus, guestRamBytes, uptimeSeconds}]}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ProcFs.Listing listing;
        try {
            listing = ProcFs.all();
        } catch (InspectException e) {
            throw InspectSupport.userError(e);
        }
        List<VmProcess> vms = listing.vms();
        PrintWriter out = spec.commandLine().getOut();
        if (listing.unreadable() > 0) {
            spec.commandLine().getErr().println("kvmclock: " + listing.unreadable()
                    + " processes could not be looked into (permission denied): run as root to see every VM");
        }
        if (json) {
            ObjectNode root = Json.object();
            ArrayNode a = root.putArray("vms");
            vms.forEach(v -> a.add(InspectSupport.vmJson(v)));
            out.println(Json.write(root));
            return ExitCode.OK;
        }
        if (vms.isEmpty()) {
            out.println("no process on this host holds a KVM VM");
            return ExitCode.OK;
        }
        out.printf("%8s  %-18s %5s %12s %10s%n", "PID", "VMM", "VCPUS", "GUEST RAM", "UPTIME");
        for (VmProcess v : vms) {
            out.printf("%8d  %-18s %5d %9d MiB %9ds%n", v.pid(), v.vmmName(), v.vcpus().size(),
                    v.guestRam().bytes() >> 20, v.uptimeSeconds());
        }
        return ExitCode.OK;
    }
}
