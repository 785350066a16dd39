package io.peersocket.sim;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;

/**
 * One simulated node's slot: its fixed identity and address, and the current {@link Node} (replaced on
 * {@link Simulator#restart}) with its application object. Simulation thread only.
 */
public final class SimNode {
    private final int index;
    private final HostKey hostKey;
    private final Multiaddr listenAddress;
    private final Multiaddr address;
    Node node; // the current incarnation; the last one while crashed
    Object app;
    boolean alive;
    int starts;

    SimNode(int index, HostKey hostKey, Multiaddr listenAddress) {
        this.index = index;
        this.hostKey = hostKey;
        this.listenAddress = listenAddress;
        this.address = listenAddress.withPeerId(hostKey.peerId());
    }

    /** Position in the simulation, 0 … n-1. */
    public int index() { return index; }

    public HostKey hostKey() { return hostKey; }

    public PeerId peerId() { return hostKey.peerId(); }

    /** {@code /memory/<index+1>} (the same across restarts). */
    public Multiaddr listenAddress() { return listenAddress; }

    /** {@code /memory/<index+1>/p2p/<peer id>}, e.g. for bootstrapping. */
    public Multiaddr address() { return address; }

    /** The node (after a crash: the stopped one, until {@link Simulator#restart}). */
    public Node node() { return node; }

    /** Whether the node runs (not crashed). */
    public boolean isAlive() { return alive; }

    /** How many times the node was started (1 + restarts). */
    public int starts() { return starts; }

    /** The object the setup function returned, or null. */
    public Object app() { return app; }

    /**
     * The setup function's object as {@code type}.
     *
     * @throws ClassCastException if it is something else; {@link IllegalStateException} if there is none
     */
    public <T> T app(Class<T> type) {
        if (app == null) throw new IllegalStateException("node " + index + " has no application object");
        return type.cast(app);
    }

    @Override public String toString() {
        return "SimNode#" + index + "[" + peerId().shortString() + (alive ? "" : ", crashed") + "]";
    }
}
