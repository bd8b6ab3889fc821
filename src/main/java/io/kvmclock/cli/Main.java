package io.kvmclock.cli;

import io.kvmclock.hv.HvException;
import io.kvmclock.hv.HvUnavailableException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

@Command(name = "kvmclock",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "Move a KVM guest's TSC and kvmclock across live update and migration, and measure what the guest notices.",
            ""
        },
        subcommands = {
            TimescaleCommand.class,
            PvclockCommand.class,
            DemoCommand.class,
            PeerCommand.class,
            LiveUpdateCommand.class,
            ProbeCommand.class,
            StateCommand.class,
            DriftCommand.class,
            VmsCommand.class,
            InspectCommand.class,
            ExporterCommand.class,
            SimulateCommand.class,
            FuzzCommand.class,
            CommandLine.HelpCommand.class
        },
        footer = {
            "",
            "Exit codes: 0 ok, 1 failure, 2 bad input, 3 environment (e.g. no /dev/kvm).",
            "Examples:",
            "  kvmclock demo                         every restore method, side by side",
            "  kvmclock probe                        this host's KVM clock support",
            "  kvmclock timescale --tsc-khz 2596138  a frequency's mul/shift and drift"
        })
public final class Main implements Runnable {

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces with errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line; the tests call this to see exactly what a user sees. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("kvmclock: " + Inputs.printable(String.valueOf(ex.getMessage())));
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ExitCode.BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> failed(ex, parsed, err));
        return cl.execute(args);
    }

    /**
     * Prints a command's failure as one line (with its trace under --verbose) and gives its exit code. A
     * command that must print before it lets go of a shutdown hook (live-update) calls this itself.
     */
    static int failed(Exception ex, CommandLine.ParseResult parsed, PrintWriter err) {
        boolean verbose = parsed.matchedOption("--verbose") != null || (parsed.subcommand() != null && hasVerbose(parsed));
        int code = switch (ex) {
            case UserError u -> u.exitCode();
            case HvUnavailableException u -> ExitCode.ENVIRONMENT;
            case HvException h -> ExitCode.FAILURE;
            default -> ExitCode.FAILURE;
        };
        String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
        err.println("kvmclock: " + Inputs.printable(msg));
        if (verbose) {
            ex.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    private static boolean hasVerbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.matchedOption("--verbose") != null) {
                return true;
            }
        }
        return false;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"kvmclock " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
