package io.peersocket.protocol.snapshot;

import io.peersocket.despatch.Message;
import io.peersocket.identity.PeerId;
import io.peersocket.util.EventLoop;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * A test application for snapshots (seed 002): each node is issued a number of tokens and passes random amounts
 * to random peers; no token is created or destroyed afterwards, so in any consistent snapshot the tokens held in
 * node states (balance plus the outbox of delayed sends) and in channels add up to the tokens issued.
 *
 * <p>Wire: message {@link #TOKEN}, payload the amount as 8 bytes big-endian (1 … 2^62). Follows the
 * {@link SnapshotParticipant} rule: all state lives on the event loop; a send debits and calls
 * {@link Snapshots#send} in one loop task; receipts are covered handlers. A <em>slow peer</em> can be set: sends
 * to it wait in the outbox (part of the recorded state) for a delay before they go, modelling a slow link.
 *
 * <p>Threading: public methods may be called from any thread; they enqueue to the loop.
 */
public final class TokenApp implements SnapshotParticipant, AutoCloseable {
    /** Despatch message type of a token transfer. */
    public static final int TOKEN = 0x7F00_0101;
    /** Participant name. */
    public static final String NAME = "tokens";

    private final Snapshots snapshots;
    private final EventLoop loop;
    private final Supplier<Collection<PeerId>> peers;

    // Event-loop state.
    private long issued, balance, outbox, sent, received, sendFailures;
    private long sentMessages, receivedMessages;
    private Settings running;
    private SplittableRandom random;
    private EventLoop.Cancellable timer;

    /**
     * Traffic settings.
     *
     * @param intervalMs time between sends, ms (≥ 1)
     * @param maxAmount largest amount per send (≥ 1)
     * @param seed seeds the choice of peers and amounts
     * @param slowPeer sends to this peer wait {@code slowDelayMs} in the outbox first; null for none
     * @param slowDelayMs the delay for {@code slowPeer}, ms (≥ 0)
     */
    public record Settings(long intervalMs, long maxAmount, long seed, PeerId slowPeer, long slowDelayMs) {
        public Settings {
            if (intervalMs < 1 || maxAmount < 1 || slowDelayMs < 0) {
                throw new IllegalArgumentException("need intervalMs >= 1, maxAmount >= 1, slowDelayMs >= 0");
            }
        }
    }

    private TokenApp(Snapshots snapshots, EventLoop loop, Supplier<Collection<PeerId>> peers) {
        this.snapshots = snapshots;
        this.loop = loop;
        this.peers = peers;
    }

    /**
     * Registers the app's handler and participant on {@code snapshots}.
     *
     * @param loop the node's event loop
     * @param peers the peers to pass tokens to (called on the loop), e.g. the node's channel peers
     * @param issued tokens this node starts with (≥ 0)
     */
    public static TokenApp install(Snapshots snapshots, EventLoop loop, Supplier<Collection<PeerId>> peers, long issued) {
        if (issued < 0 || issued > StateValues.MAX_INTEGER / 1024) throw new IllegalArgumentException("issued out of range: " + issued);
        TokenApp app = new TokenApp(snapshots, loop, peers);
        app.issued = issued;
        app.balance = issued;
        snapshots.handle(TOKEN, app::onToken);
        snapshots.despatcher().nameType(TOKEN, "TOKEN");
        snapshots.register(app);
        return app;
    }

    /** Starts (or restarts with new settings) passing tokens. */
    public void start(Settings settings) {
        Objects.requireNonNull(settings);
        loop.execute(() -> {
            if (timer != null) timer.cancel();
            running = settings;
            random = new SplittableRandom(settings.seed());
            schedule();
        });
    }

    /** Stops passing tokens; delayed sends in the outbox still go out. */
    public void stop() {
        loop.execute(() -> {
            running = null;
            if (timer != null) timer.cancel();
            timer = null;
        });
    }

    private void schedule() {
        Settings s = running;
        timer = loop.schedule(() -> {
            if (running != s) return;
            passOne(s);
            schedule();
        }, s.intervalMs());
    }

    /** One transfer to a random peer (on the loop). */
    private void passOne(Settings s) {
        if (balance <= 0) return;
        List<PeerId> targets = new ArrayList<>(peers.get());
        if (targets.isEmpty()) return;
        targets.sort(null); // deterministic order for a seeded choice
        PeerId to = targets.get(random.nextInt(targets.size()));
        long amount = 1 + random.nextLong(Math.min(balance, s.maxAmount()));
        balance -= amount;
        if (to.equals(s.slowPeer()) && s.slowDelayMs() > 0) {
            outbox += amount;
            loop.schedule(() -> {
                outbox -= amount;
                transmit(to, amount);
            }, s.slowDelayMs());
        } else {
            transmit(to, amount);
        }
    }

    private void transmit(PeerId to, long amount) {
        sent += amount;
        sentMessages++;
        try {
            snapshots.send(to, TOKEN, encode(amount)).whenComplete((v, err) -> {
                if (err != null) loop.execute(() -> sendFailures++);
            });
        } catch (RuntimeException e) {
            sendFailures++;
        }
    }

    private void onToken(Message m) {
        long amount = amount(m.payload());
        balance += amount;
        received += amount;
        receivedMessages++;
    }

    /** The recorded state: issued, balance, outbox, totals sent and received, failed sends. */
    @Override public Object state() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("issued", issued);
        m.put("balance", balance);
        m.put("outbox", outbox);
        m.put("sent", sent);
        m.put("received", received);
        m.put("sentMessages", sentMessages);
        m.put("receivedMessages", receivedMessages);
        m.put("sendFailures", sendFailures);
        return m;
    }

    @Override public String name() { return NAME; }

    @Override public Object describe(int type, byte[] payload) {
        return type == TOKEN ? amount(payload) : null;
    }

    public static byte[] encode(long amount) { return ByteBuffer.allocate(8).putLong(amount).array(); }

    /**
     * @throws IllegalArgumentException unless the payload is 8 bytes holding 1 … 2^62
     */
    public static long amount(byte[] payload) {
        if (payload.length != 8) throw new IllegalArgumentException("token payload must be 8 bytes, got " + payload.length);
        long v = ByteBuffer.wrap(payload).getLong();
        if (v < 1 || v > StateValues.MAX_INTEGER) throw new IllegalArgumentException("token amount out of range: " + v);
        return v;
    }

    /**
     * The conservation check of a snapshot: tokens issued, held in states (balance + outbox) and in channels.
     *
     * @param issued sum of every node's issued tokens
     * @param inStates sum of balances and outboxes
     * @param inChannels sum of the amounts of recorded {@link #TOKEN} messages
     */
    public record Conservation(long issued, long inStates, long inChannels, long channelMessages) {
        public boolean holds() { return inStates + inChannels == issued; }

        @Override public String toString() {
            return "issued " + issued + " = states " + inStates + " + channels " + inChannels + " (" + channelMessages
                    + " messages): " + (holds() ? "holds" : "VIOLATED by " + (inStates + inChannels - issued));
        }
    }

    /** Sums {@code snapshot} (use only on a {@link GlobalSnapshot#complete()} one). */
    public static Conservation conservation(GlobalSnapshot snapshot) {
        long issued = 0, states = 0, channels = 0, msgs = 0;
        for (NodeSnapshot n : snapshot.nodes().values()) {
            if (n.state().get(NAME) instanceof Map<?, ?> t) {
                issued += (Long) t.get("issued");
                states += (Long) t.get("balance") + (Long) t.get("outbox");
            }
            for (ChannelState c : n.channels()) {
                for (ChannelMessage x : c.messages()) {
                    if (x.type() == TOKEN) {
                        channels += amount(x.payload());
                        msgs++;
                    }
                }
            }
        }
        return new Conservation(issued, states, channels, msgs);
    }

    /** Stops the traffic. */
    @Override public void close() { stop(); }
}
