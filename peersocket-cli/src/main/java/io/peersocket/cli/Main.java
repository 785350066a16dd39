package io.peersocket.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code peersocket} command. Exit codes: 0 success, 1 failure (one-line error on stderr), 2 usage error.
 */
@Command(name = "peersocket", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Peer-to-peer networking node: reach peers by public key over QUIC.",
        subcommands = {NodeCommand.class, PingCommand.class, ConnectCommand.class, IdCommand.class, StatusCommand.class, PeersCommand.class,
                KadCommand.class, DhtCommand.class, PubSubCommands.Pub.class, PubSubCommands.Sub.class,
                SnapshotCommand.class,
                ShareCommand.class, GetCommand.class,
                LedgerCommand.class,
                TestbedCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    public static final String VERSION = "0.1.0";

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (used by tests). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable t = ex;
            while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                    && t.getCause() != null) {
                t = t.getCause();
            }
            String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            commandLine.getErr().println("error: " + msg.lines().findFirst().orElse(msg));
            return 1;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() { return new String[] {"peersocket " + VERSION}; }
    }
}
