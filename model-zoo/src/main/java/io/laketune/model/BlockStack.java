package io.laketune.model;

import io.laketune.nn.Workspaces;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The decoder blocks of one training step, run forward and then backward. Without activation
 * checkpointing each block keeps its cache from forward to backward; with it, forward keeps only
 * each block's input and backward recomputes the block's forward in a workspace of its own, so the
 * step holds one block's activations at a time. Call inside the step workspace.
 *
 * @param <C> a block's cache
 */
final class BlockStack<C> {

  /** A model's blocks as the stack drives them; {@code cache} null = forward without keeping one. */
  interface Blocks<C> {
    int size();

    C newCache(int i);

    INDArray forward(int i, INDArray x, C cache);

    INDArray backward(int i, INDArray dy, C cache);
  }

  private final Blocks<C> blocks;
  private final boolean checkpointing;
  private final INDArray[] inputs;
  private final List<C> caches = new ArrayList<>();

  BlockStack(Blocks<C> blocks, boolean checkpointing) {
    this.blocks = blocks;
    this.checkpointing = checkpointing;
    this.inputs = new INDArray[blocks.size()];
  }

  INDArray forward(INDArray x) {
    for (int i = 0; i < blocks.size(); i++) {
      inputs[i] = x;
      if (checkpointing) {
        try (MemoryWorkspace bw = Workspaces.open(Workspaces.BLOCK)) {
          x = blocks.forward(i, x, null).leverageTo(Workspaces.STEP);
        }
        caches.add(null);
      } else {
        C c = blocks.newCache(i);
        caches.add(c);
        x = blocks.forward(i, x, c);
      }
    }
    return x;
  }

  /** dy of the last block's output → dx of the first block's input; adds every parameter gradient. */
  INDArray backward(INDArray dy) {
    for (int i = blocks.size() - 1; i >= 0; i--) {
      if (checkpointing) {
        try (MemoryWorkspace bw = Workspaces.open(Workspaces.BLOCK)) {
          C c = blocks.newCache(i);
          blocks.forward(i, inputs[i], c);
          dy = blocks.backward(i, dy, c).leverageTo(Workspaces.STEP);
        }
      } else {
        dy = blocks.backward(i, dy, caches.get(i));
        caches.set(i, null);
      }
    }
    return dy;
  }
}
