package org.xlstm.jvm.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xlstm.jvm.tensor.Shapes;
import org.xlstm.jvm.tensor.Tensor;

/**
 * One gradient buffer per trainable parameter, under the parameter's official name and in its official layout.
 *
 * <p>Layers look gradients up by the tensor they compute with: {@link #of(Tensor)} accepts a parameter or any
 * view or slice of one (a layer that splits a fused official tensor, e.g. proj_up into its two halves, keeps
 * slices of it) and returns the matching view of the gradient, so every use of a parameter adds into the one
 * official buffer. A tied lm_head is the embedding's tensor, so both uses sum into one gradient, as in PyTorch.
 */
public final class Gradients implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final Map<String, Tensor> params;
    private final Map<String, Tensor> grads = new LinkedHashMap<>();
    private final List<Tensor> paramList = new ArrayList<>();
    private final List<Tensor> gradList = new ArrayList<>();
    private final Map<Tensor, Tensor> lookups = new IdentityHashMap<>();

    /** Where the buffers live: host memory (null), or a backend's own memory (a GPU) when it does not compute in host memory. */
    private final org.xlstm.jvm.backend.Ops device;

    /** @param params official name → parameter tensor, each parameter once, in official order */
    public Gradients(Map<String, Tensor> params) { this(params, null); }

    /**
     * Buffers in the memory {@code ops} computes in (zero-filled): a GPU backend keeps the gradients beside the
     * parameters. Null or a host-memory backend: host memory.
     */
    public Gradients(Map<String, Tensor> params, org.xlstm.jvm.backend.Ops ops) {
        this.device = ops != null && !ops.hostMemory() ? ops : null;
        this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        for (var e : params.entrySet()) {
            Tensor g = device != null ? device.allocate(e.getValue().shape()) : Tensor.allocate(arena, e.getValue().shape());
            grads.put(e.getKey(), g);
            paramList.add(e.getValue());
            gradList.add(g);
        }
    }

    /** Parameters by official name. */
    public Map<String, Tensor> parameters() { return params; }

    /** Gradients by official name (same order and shapes as {@link #parameters()}). */
    public Map<String, Tensor> all() { return Collections.unmodifiableMap(grads); }

    public Tensor get(String name) {
        Tensor g = grads.get(name);
        if (g == null) throw new IllegalArgumentException("no trainable parameter named '" + name + "'");
        return g;
    }

    /** The gradient of {@code t}: a parameter, or a view or slice of one (then the matching part of its gradient). */
    public synchronized Tensor of(Tensor t) {
        Tensor g = lookups.get(t);
        if (g != null) return g;
        long addr = t.segment().address(), bytes = t.size() * Float.BYTES;
        for (int i = 0; i < paramList.size(); i++) {
            MemorySegment p = paramList.get(i).segment();
            long pa = p.address(), pb = paramList.get(i).size() * Float.BYTES;
            if (addr >= pa && addr + bytes <= pa + pb) {
                g = Tensor.wrap(gradList.get(i).segment().asSlice(addr - pa, bytes), t.shape());
                lookups.put(t, g);
                return g;
            }
        }
        throw new IllegalArgumentException("tensor " + Shapes.format(t.shape()) + " is not (part of) a trainable parameter");
    }

    /** Null for null (an absent bias), else {@link #of}. */
    public Tensor ofOrNull(Tensor t) { return t == null ? null : of(t); }

    public void zero() {
        if (device != null) device.fillEach(gradList, 0f);   // one launch on a GPU
        else for (Tensor g : gradList) g.fill(0f);
    }

    /** Declares every parameter changed in place (after an optimizer step): cached packed forms become stale. */
    public void parametersChanged() {
        for (Tensor p : paramList) p.markModified();
    }

    @Override
    public void close() { arena.close(); }
}
