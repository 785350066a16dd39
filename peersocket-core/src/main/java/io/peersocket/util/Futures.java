package io.peersocket.util;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/** Small helpers for {@link CompletableFuture}s shared by the node, protocols and transports. Stateless. */
public final class Futures {
    private Futures() {}

    /** The cause under any {@link CompletionException} / {@link ExecutionException} wrappers. */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /**
     * Runs {@code task} on {@code executor}; the future it returns (or the exception it throws) becomes the result,
     * with wrapper exceptions removed.
     */
    public static <T> CompletableFuture<T> composeOn(Executor executor, Supplier<CompletableFuture<T>> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        executor.execute(() -> {
            try {
                task.get().whenComplete((v, e) -> {
                    if (e != null) result.completeExceptionally(unwrap(e));
                    else result.complete(v);
                });
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }
}
