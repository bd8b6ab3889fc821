package io.kvmclock.inspect;

import io.kvmclock.inspect.InspectException.Problem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What /proc says about a process, read only. Every failure becomes an {@link InspectException} that says
 * which file and why: a missing /proc/PID is "no such process" before the first read and "exited" after it.
 */
public final class ProcFs {
    private ProcFs() {}

    static final Path PROC = Path.of("/proc");
    private static final String VM_FD = "anon_inode:kvm-vm";
    private static final String VCPU_FD = "anon_inode:kvm-vcpu:";
    private static final Pattern SMAPS_HEADER = Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");
    private static final Pattern QEMU_MEM = Pattern.compile("^(?:size=)?(\\d+(?:\\.\\d+)?)([kKmMgGtT]?)[bB]?(?:,.*)?$");

    static Path dir(long pid) {
        return PROC.resolve(Long.toString(pid));
    }

    /** The process as a VM holder, or NOT_A_VMM when it holds no kvm-vm fd. */
    public static VmProcess read(long pid) {
        if (pid <= 0) {
            throw new InspectException(Problem.NO_SUCH_PROCESS, "pid " + pid + " is not a process id: give a positive pid (see 'kvmclock vms')");
        }
        Path dir = dir(pid);
        if (!Files.isDirectory(dir)) {
            throw new InspectException(Problem.NO_SUCH_PROCESS, "no process " + pid + ": 'kvmclock vms' lists the VMs on this host");
        }
        Instant started = ProcessHandle.of(pid).flatMap(p -> p.info().startInstant())
                .orElseThrow(() -> new InspectException(Problem.NO_SUCH_PROCESS, "no process " + pid
                        + " (it exited): 'kvmclock vms' lists the VMs on this host"));
        List<Integer> vmFds = new ArrayList<>();
        List<VmProcess.Vcpu> vcpus = new ArrayList<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(dir.resolve("fd"))) {
            for (Path fd : fds) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (NoSuchFileException closedMeanwhile) {
                    continue;
                }
                int n = Integer.parseInt(fd.getFileName().toString());
                if (target.equals(VM_FD)) {
                    vmFds.add(n);
                } else if (target.startsWith(VCPU_FD)) {
                    vcpus.add(new VmProcess.Vcpu(Integer.parseInt(target.substring(VCPU_FD.length())), n));
                }
            }
        } catch (IOException e) {
            throw failure(pid, "fd", e);
        }
        String comm = readString(pid, "comm").strip();
        if (vmFds.isEmpty()) {
            throw new InspectException(Problem.NOT_A_VMM, "process " + pid + " (" + comm
                    + ") holds no KVM VM (no anon_inode:kvm-vm fd): 'kvmclock vms' lists the VMs on this host");
        }
        vmFds.sort(null);
        vcpus.sort((a, b) -> Integer.compare(a.fd(), b.fd()));
        List<String> cmdline = cmdline(pid);
        Vmm vmm = Vmm.of(comm, cmdline);
        List<Mapping> maps = maps(pid);
        GuestRam ram = GuestRam.classify(maps, noReserve(pid, maps),
                vmm == Vmm.QEMU ? qemuMemory(cmdline) : Optional.empty());
        long uptime = Math.max(0, Duration.between(started, Instant.now()).toSeconds());
        return new VmProcess(pid, vmm, comm, vmFds, vcpus, ram, started, uptime);
    }

    /** The VMs {@link #all()} found, and how many processes it could not look into (not root). */
    public record Listing(List<VmProcess> vms, int unreadable) {}

    /** Every process holding a KVM VM except this one (the inspector opens its own VM to read the host TSC). */
    public static Listing all() {
        long self = ProcessHandle.current().pid();
        List<VmProcess> out = new ArrayList<>();
        int unreadable = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(PROC, p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path p : ds) {
                long pid = Long.parseLong(p.getFileName().toString());
                if (pid == self) {
                    continue;
                }
                try {
                    if (holdsVm(p)) {
                        out.add(read(pid));
                    }
                } catch (InspectException e) {
                    // not permitted: counted; exited meanwhile or closed its VM: not a VM any more
                    if (e.problem() == Problem.NO_PERMISSION) {
                        unreadable++;
                    }
                }
            }
        } catch (IOException e) {
            throw new InspectException(Problem.NO_PERMISSION, "cannot list /proc: " + e.getMessage(), e);
        }
        out.sort((a, b) -> Long.compare(a.pid(), b.pid()));
        return new Listing(out, unreadable);
    }

    /** A cheap first look: does any fd of the process point at a KVM VM? A process that exited says no. */
    private static boolean holdsVm(Path dir) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(dir.resolve("fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals(VM_FD)) {
                        return true;
                    }
                } catch (IOException closed) {
                    // the fd closed while listing
                }
            }
            return false;
        } catch (AccessDeniedException e) {
            throw new InspectException(Problem.NO_PERMISSION, "cannot read " + dir.resolve("fd")
                    + ": permission denied; run as root (or as the VMM's user) to see its VMs");
        } catch (IOException gone) {
            return false;
        }
    }

    public static boolean alive(VmProcess p) {
        return ProcessHandle.of(p.pid()).flatMap(h -> h.info().startInstant()).map(p.started()::equals).orElse(false);
    }

    static List<Mapping> maps(long pid) {
        try {
            return Mapping.parse(Files.readAllLines(dir(pid).resolve("maps"), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw failure(pid, "maps", e);
        }
    }

    /** The mappings smaps marks VmFlags nr (MAP_NORESERVE). */
    private static List<Mapping> noReserve(long pid, List<Mapping> maps) {
        List<Mapping> out = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(dir(pid).resolve("smaps"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw failure(pid, "smaps", e);
        }
        Mapping current = null;
        for (String line : lines) {
            if (line.startsWith("VmFlags:")) {
                if (current != null && Arrays.asList(line.substring(8).strip().split(" ")).contains("nr")) {
                    out.add(current);
                }
            } else if (SMAPS_HEADER.matcher(line).lookingAt()) {
                current = Mapping.parseLine(line);
            }
        }
        out.retainAll(maps);
        return out;
    }

    static List<String> cmdline(long pid) {
        byte[] b;
        try {
            b = Files.readAllBytes(dir(pid).resolve("cmdline"));
        } catch (IOException e) {
            throw failure(pid, "cmdline", e);
        }
        List<String> args = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < b.length; i++) {
            if (b[i] == 0) {
                args.add(new String(b, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        return args;
    }

    /** QEMU's -m: plain MiB ("-m 4096"), a unit ("-m 4G") or "size=4G,slots=...". */
    static Optional<Long> qemuMemory(List<String> cmdline) {
        for (int i = 0; i + 1 < cmdline.size(); i++) {
            if (cmdline.get(i).equals("-m") || cmdline.get(i).equals("--m")) {
                Matcher m = QEMU_MEM.matcher(cmdline.get(i + 1));
                if (m.matches()) {
                    double v = Double.parseDouble(m.group(1));
                    long unit = switch (m.group(2).toLowerCase(Locale.ROOT)) {
                        case "k" -> 1L << 10;
                        case "g" -> 1L << 30;
                        case "t" -> 1L << 40;
                        default -> 1L << 20; // QEMU's default unit is MiB
                    };
                    return Optional.of((long) (v * unit));
                }
            }
        }
        return Optional.empty();
    }

    private static String readString(long pid, String file) {
        try {
            return Files.readString(dir(pid).resolve(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw failure(pid, file, e);
        }
    }

    /** An I/O failure on /proc/PID/file: gone (exited), no permission, or something else. */
    static InspectException failure(long pid, String file, IOException e) {
        Path path = dir(pid).resolve(file);
        if (!Files.isDirectory(dir(pid))) {
            return new InspectException(Problem.EXITED, "process " + pid + " exited while " + path + " was read", e);
        }
        if (e instanceof AccessDeniedException) {
            return new InspectException(Problem.NO_PERMISSION, "cannot read " + path
                    + ": permission denied; run as root (or as the VMM's user, with ptrace allowed)", e);
        }
        return new InspectException(Problem.UNREADABLE, "cannot read " + path + ": " + e.getMessage(), e);
    }
}
