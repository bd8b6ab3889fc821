package io.kvmclock.inspect;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * KVM's debugfs: {@code <debugfs>/kvm/<pid>-<vm fd>/vcpuN/tsc-offset} (and {@code tsc-scaling-ratio}), where
 * debugfs is mounted and the kernel lets it be read. Found through /proc/mounts; never mounted by this code.
 * Where it is not readable the vendor module still may say the offset: kvm_pvm runs guests on the native
 * TSC (offset 0, measured: writes to it are accepted and ignored, see docs/inspect.md).
 */
public final class Debugfs {
    private final Optional<Path> mount;

    private Debugfs(Optional<Path> mount) {
        this.mount = mount;
    }

    public static Debugfs find() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 2 && f[2].equals("debugfs")) {
                    return new Debugfs(Optional.of(Path.of(f[1])));
                }
            }
        } catch (IOException e) {
            return new Debugfs(Optional.empty());
        }
        return new Debugfs(Optional.empty());
    }

    public static Debugfs at(Path mount) {
        return new Debugfs(Optional.of(mount));
    }

    public Optional<Path> mount() {
        return mount;
    }

    /** The offset of vCPU {@code vcpu} of the VM at fd {@code vmFd} of {@code pid}, or why it is unknown. */
    public TscOffset tscOffset(long pid, List<Integer> vmFds, int vcpu, Host host) {
        TscOffset fromDebugfs = read(pid, vmFds, vcpu);
        if (fromDebugfs instanceof TscOffset.Unknown u && host.guestsRunOnHostTsc()) {
            return new TscOffset.Known(0, Host.PVM + " runs guests on the host TSC (" + u.reason() + ")");
        }
        return fromDebugfs;
    }

    private TscOffset read(long pid, List<Integer> vmFds, int vcpu) {
        if (mount.isEmpty()) {
            return new TscOffset.Unknown("debugfs is not mounted (no debugfs in /proc/mounts)");
        }
        String last = "no " + mount.get().resolve("kvm") + "/TID-FD directory for a thread of " + pid;
        for (Path file : candidates(pid, vmFds, vcpu)) {
            if (!Files.exists(file)) {
                continue;
            }
            try {
                return new TscOffset.Known(Long.parseLong(Files.readString(file).strip()), file.toString());
            } catch (FileSystemException e) {
                last = file + ": " + (e.getReason() == null ? e.getClass().getSimpleName() : e.getReason());
            } catch (IOException | NumberFormatException e) {
                last = file + ": " + e.getMessage();
            }
        }
        return new TscOffset.Unknown(last);
    }

    /**
     * KVM names a VM's directory after the thread that created it (kvm_create_vm_debugfs uses
     * task_pid_nr(current)), which in a multi-threaded VMM, a JVM for one, is not the process id: try every
     * thread of the process with every VM fd.
     */
    private List<Path> candidates(long pid, List<Integer> vmFds, int vcpu) {
        List<Long> tids = new ArrayList<>();
        tids.add(pid);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(ProcFs.dir(pid).resolve("task"))) {
            for (Path t : ds) {
                long tid = Long.parseLong(t.getFileName().toString());
                if (tid != pid) {
                    tids.add(tid);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // the process is gone or hides its threads: its own pid is still worth a try
        }
        List<Path> out = new ArrayList<>();
        for (long tid : tids) {
            for (int fd : vmFds) {
                out.add(mount.get().resolve("kvm").resolve(tid + "-" + fd).resolve("vcpu" + vcpu).resolve("tsc-offset"));
            }
        }
        return out;
    }
}
