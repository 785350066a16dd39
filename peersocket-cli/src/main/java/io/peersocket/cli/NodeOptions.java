package io.peersocket.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options of every command that talks to a running node through its control socket (a picocli mixin). */
final class NodeOptions {
    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Data directory of the running node.")
    Path data;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;
}
