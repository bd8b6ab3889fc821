package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.inspect.Host;
import io.kvmclock.inspect.InspectException;
import io.kvmclock.inspect.Inspection;
import io.kvmclock.inspect.PvclockScanner;
import io.kvmclock.inspect.TscOffset;
import io.kvmclock.inspect.VcpuClock;
import io.kvmclock.inspect.VmProcess;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.time.PvclockTimeInfo;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Optional;

/** What vms, inspect and exporter share: the host, the exit code of each problem, the JSON of an inspection. */
final class InspectSupport {
    private InspectSupport() {}

    /** Scans this big or bigger show progress on stderr. */
    private static final long PROGRESS_FROM_BYTES = 256L << 20;

    /** The host as the inspector sees it, reading the host TSC through KVM_GET_CLOCK on a VM of this process. */
    static Host host(Hypervisor hv) {
        return new Host(hv.host().tscKhz(), hv.capabilities().tscControl(), KvmHypervisor.vendorModule(), () -> hv.readHostClocks().tsc());
    }

    static UserError userError(InspectException e) {
        int code = switch (e.problem()) {
            case NO_SUCH_PROCESS, NOT_A_VMM -> ExitCode.BAD_INPUT;
            case NO_PERMISSION, UNREADABLE -> ExitCode.ENVIRONMENT;
            case NO_PVCLOCK, EXITED -> ExitCode.FAILURE;
        };
        return new UserError(code, e.getMessage(), e);
    }

    /** Progress for big scans, on stderr, at each quarter. */
    static PvclockScanner.Progress progress(PrintWriter err) {
        return new PvclockScanner.Progress() {
            long next;

            @Override
            public void scanned(long done, long total) {
                if (total < PROGRESS_FROM_BYTES) {
                    return;
                }
                if (done >= next || done == total) {
                    err.printf(Locale.ROOT, "scanning guest RAM: %.2f of %.2f GiB%n", done / (double) (1L << 30),
                            total / (double) (1L << 30));
                    err.flush();
                    next = done + total / 4;
                }
            }
        };
    }

    static void scanSummary(Inspection i, PrintWriter err) {
        i.scan().ifPresent(s -> err.printf(Locale.ROOT,
                "scanned %.3f GiB of guest RAM mappings (%.1f MiB present, read) in %.3f s: %.2f GiB/s%n",
                s.mappedBytes() / (double) (1L << 30), s.readBytes() / (double) (1L << 20), s.nanos() / 1e9,
                s.gibPerSecond(s.mappedBytes())));
    }

    static ObjectNode vmJson(VmProcess p) {
        ObjectNode n = Json.object();
        n.put("pid", p.pid());
        n.put("vmm", p.vmmName());
        n.put("vcpus", p.vcpus().size());
        n.put("guestRamBytes", p.guestRam().bytes());
        n.put("uptimeSeconds", p.uptimeSeconds());
        return n;
    }

    static ObjectNode json(Inspection i, Optional<Long> gpaHint) {
        ObjectNode root = Json.object();
        root.put("pid", i.process().pid());
        root.put("vmm", i.process().vmmName());
        root.put("hostTscKhz", i.hostTscKhz());
        ArrayNode vcpus = root.putArray("vcpus");
        for (VcpuClock v : i.vcpus()) {
            ObjectNode n = vcpus.addObject();
            n.put("vcpu", v.vcpu());
            PvclockTimeInfo p = v.pvclock();
            Json.putPvclock(n.putObject("pvclock"), p);
            n.put("tscStable", p.tscStable());
            n.put("encodedTscKhz", v.found().encodedKhz());
            putOptional(n, "referenceAgeCycles", v.referenceAgeCycles());
            if (v.referenceAgeSeconds().isPresent()) {
                n.put("referenceAgeSeconds", v.referenceAgeSeconds().get());
            } else {
                n.putNull("referenceAgeSeconds");
            }
            putOptional(n, "pendingStepNs", v.pendingStepNs());
            n.put("direction", v.direction().map(d -> d.name().toLowerCase(Locale.ROOT)).orElse("unknown"));
            switch (v.offset()) {
                case TscOffset.Known k -> {
                    n.put("tscOffset", k.offset());
                    n.put("tscOffsetSource", k.source());
                }
                case TscOffset.Unknown u -> {
                    n.putNull("tscOffset");
                    n.put("tscOffsetSource", u.reason());
                }
            }
            if (!v.unknownWhy().isEmpty()) {
                n.put("unknownReason", v.unknownWhy());
            }
            n.put("hva", "0x" + Long.toHexString(v.found().hva()));
            n.put("mappingOffset", "0x" + Long.toHexString(v.found().mappingOffset()));
            if (gpaHint.isPresent() && gpaHint.get() == v.found().mappingOffset()) {
                n.put("gpa", "0x" + Long.toHexString(gpaHint.get()));
            }
        }
        if (i.offsetsAgree().isPresent()) {
            root.put("offsetsAgree", i.offsetsAgree().get());
        } else {
            root.putNull("offsetsAgree");
        }
        root.put("verdict", i.verdict());
        return root;
    }

    private static void putOptional(ObjectNode n, String key, Optional<Long> v) {
        if (v.isPresent()) {
            n.put(key, v.get());
        } else {
            n.putNull(key);
        }
    }
}
