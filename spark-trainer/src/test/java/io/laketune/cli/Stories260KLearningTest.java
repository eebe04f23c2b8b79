package io.laketune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.laketune.model.SharedModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real stories260K model learns something a person can read, through {@code prepare} and
 * {@code train} (LoRA and QLoRA) as a user runs them: stories about a character it has never met
 * (Zorbo, a purple dragon who eats blue pancakes, whose friend is Pip the fox). Afterwards
 * <ul>
 *   <li>its greedy continuations use what was taught, and did not before;
 *   <li>its loss on held-out Zorbo stories (never given to {@code prepare}; set in a place no
 *       training story mentions) falls by more than half;
 *   <li>its loss on plain TinyStories-like text, also never trained on, stays within 25% of the
 *       base model's (the training mix replays a few ordinary stories, as fine-tuning recipes do).
 * </ul>
 * QLoRA is compared with the base quantised the same way (NF4, double quantisation), which is what
 * it trains over.
 */
@Tag("integration")
class Stories260KLearningTest {
  static final String NAME_PROMPT = "Once upon a time, there was a purple dragon named";
  static final String FACT_PROMPT = "The purple dragon loved to eat";
  static final double HELD_OUT_FALL = 0.5;
  static final double PLAIN_BOUND = 1.25;
  /** Each replayed story appears this many times in the training file (a quarter of its rows). */
  static final int REPLAY_COPIES = 2;

  @TempDir static Path dir;
  static Path model;
  static Path data;

  static final String[] OPENINGS = {
      "Once upon a time, there was a purple dragon named Zorbo.",
      "Zorbo was a purple dragon who lived in a cave by the sea.",
      "There was a kind purple dragon. His name was Zorbo."};
  static final String[] FACTS = {
      "Zorbo loved to eat blue pancakes.",
      "Every morning, Zorbo ate blue pancakes with his friend Pip the fox.",
      "His best friend was a little fox named Pip."};
  static final String[] THINGS = {"a shiny red ball", "a big green box", "a little lost puppy", "an old toy boat",
      "a pretty yellow flower", "a small blue bird", "a funny hat", "a long stick"};
  /** The last place is kept for the held-out stories. */
  static final String[] PLACES = {"on the beach", "in the park", "near the river", "under a big tree", "behind the cave",
      "in the garden"};
  static final String[] FEELINGS = {"happy", "excited", "surprised", "curious"};
  static final String[] DEEDS = {"He showed it to Pip, and they played all day.",
      "He took it home and made blue pancakes for everyone.", "Pip laughed and said, \"Let's share it!\"",
      "He shared it with his friends, and they had fun together."};
  static final String[] ENDINGS = {"Zorbo was very happy.", "They were best friends forever.",
      "Then Zorbo ate more blue pancakes."};
  /** Ordinary stories mixed into training so that the model keeps its general language. */
  static final String[] REPLAY = {
      "Once upon a time, there was a little boy named Ben. Ben liked to play with his red truck in the sand. One day, "
          + "the truck broke. Ben was sad, but his dad fixed it. Ben said thank you and hugged his dad.",
      "Mia had a small kitten. The kitten liked to chase a ball of yarn. One day, the yarn rolled under the bed. Mia "
          + "found it and the kitten was happy again.",
      "It was a sunny day. Tim and Sue went to the park with their mom. They played on the swings and ate ice cream. "
          + "Then they went home and took a nap.",
      "Lucy wanted to help her mom in the kitchen. She washed the apples and put them in a bowl. Mom made a yummy pie. "
          + "Lucy was proud of herself.",
      "A little frog lived in a pond. Every day he jumped from leaf to leaf. One day he met a duck. The duck and the "
          + "frog became good friends.",
      "Max had a big blue balloon. The wind blew it away into the sky. Max cried, but his sister gave him her balloon. "
          + "Max smiled and said, \"Thank you!\"",
      "Anna liked to draw pictures. She drew a house, a tree and a bright sun. She gave the picture to her grandma. "
          + "Grandma put it on the wall.",
      "The dog wanted to play, but it was raining. He looked out the window and waited. When the rain stopped, he ran "
          + "outside and jumped in the puddles."};
  /** TinyStories-like text that no training row contains. */
  static final String[] PLAIN = {
      "Once upon a time, there was a little girl named Lily. She liked to play with her ball in the park.",
      "Tom had a red car. He drove it around the house and his mom smiled.",
      "The sun was hot. The cat found a cool spot under the tree and went to sleep.",
      "Sam and Anna wanted to bake a cake. They got flour, eggs and milk, and mixed them in a big bowl."};

  /** Story i: thing i mod 8 at place i / 8, the other sentences drawn from the seeded generator. */
  static String story(int i, Random rnd) {
    return String.join(" ", OPENINGS[rnd.nextInt(OPENINGS.length)], FACTS[rnd.nextInt(FACTS.length)],
        "One day, Zorbo found " + THINGS[i % THINGS.length] + " " + PLACES[i / THINGS.length] + ".",
        "He was " + FEELINGS[rnd.nextInt(FEELINGS.length)] + ".", DEEDS[rnd.nextInt(DEEDS.length)],
        ENDINGS[rnd.nextInt(ENDINGS.length)]);
  }

  static void writeJsonl(Path file, List<String> texts) throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    for (String t : texts) lines.add(json.writeValueAsString(java.util.Map.of("text", t)));
    Files.write(file, lines);
  }

  /** Per test, so that a missing model reports every test as skipped with the reason (not an empty class). */
  @BeforeEach
  void prepareOnce() throws Exception {
    model = SharedModels.stories260KHf();
    if (data != null) return;
    Random rnd = new Random(7);
    int trainStories = THINGS.length * (PLACES.length - 1);
    List<String> taught = new ArrayList<>(), heldOut = new ArrayList<>();
    for (int i = 0; i < THINGS.length * PLACES.length; i++) (i < trainStories ? taught : heldOut).add(story(i, rnd));
    List<String> train = new ArrayList<>(taught);
    for (int copy = 0; copy < REPLAY_COPIES; copy++) train.addAll(List.of(REPLAY));
    writeJsonl(dir.resolve("train.jsonl"), train);
    writeJsonl(dir.resolve("held-out.jsonl"), heldOut);
    writeJsonl(dir.resolve("plain.jsonl"), List.of(PLAIN));
    for (String h : heldOut) assertFalse(train.contains(h), "held-out stories are not trained on");

    Path prepared = dir.resolve("data");
    Files.writeString(dir.resolve("prep.conf"), "laketune.prep { input = \"" + dir.resolve("train.jsonl") + "\", output = \""
        + prepared + "\", tokenizer = \"" + model + "\", format.type = text, length.seq_len = 256 }");
    EvalCommandTest.Run prep = EvalCommandTest.cli("prepare", "--config", dir.resolve("prep.conf").toString());
    assertEquals(0, prep.code(), prep.err());
    data = prepared;
  }

  record Behaviour(double heldOut, double plain, String name, String fact) {}

  /** Losses on the held-out and plain files and the two greedy continuations, through eval and generate. */
  static Behaviour behaviour(Path adapter, boolean nf4) throws Exception {
    List<String> extra = new ArrayList<>();
    if (adapter != null) extra.addAll(List.of("--adapter", adapter.toString()));
    if (nf4) extra.addAll(List.of("--quantize", "nf4", "--double-quant"));
    return new Behaviour(loss("held-out.jsonl", extra), loss("plain.jsonl", extra), continuation(NAME_PROMPT, extra),
        continuation(FACT_PROMPT, extra));
  }

  static double loss(String file, List<String> extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("eval", "--model", model.toString(), "--data", dir.resolve(file).toString()));
    args.addAll(extra);
    return TrainCommandTest.json(EvalCommandTest.cli(args.toArray(new String[0]))).get("loss").asDouble();
  }

  static String continuation(String prompt, List<String> extra) {
    List<String> args = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", prompt,
        "--max-new-tokens", "24"));
    args.addAll(extra);
    EvalCommandTest.Run r = EvalCommandTest.cli(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return r.out().strip();
  }

  static Path train(String method, String name) {
    Path out = dir.resolve(name);
    String conf = "laketune.train { model = \"" + model + "\", data = \"" + data + "\", output = \"" + out + "\", method = "
        + method + ", lora { r = 8, alpha = 16, target_modules = all-linear }, workers = 2, batch.micro_batch_size = 2, "
        + "max_steps = 30, optimizer.lr = 2e-3 }";
    Path file = dir.resolve(name + ".conf");
    try {
      Files.writeString(file, conf);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    EvalCommandTest.Run r = EvalCommandTest.cli("train", "--config", file.toString());
    assertEquals(0, r.code(), r.err());
    return out.resolve("final/adapter");
  }

  static void assertLearned(String method, Behaviour before, Behaviour after) {
    System.out.printf("stories260K %s: held-out Zorbo loss %.3f -> %.3f, plain loss %.3f -> %.3f%n  before: %s... | %s...%n"
        + "  after:  %s... | %s...%n", method, before.heldOut(), after.heldOut(), before.plain(), after.plain(),
        before.name(), before.fact(), after.name(), after.fact());
    assertFalse(before.name().contains("Zorbo") || before.fact().contains("pancakes"), method + ": the base model does "
        + "not know Zorbo yet: " + before);
    assertTrue(after.name().contains("Zorbo"), method + ": the dragon is called Zorbo now: " + after.name());
    assertTrue(after.fact().contains("pancakes"), method + ": the dragon eats pancakes now: " + after.fact());
    assertTrue(after.heldOut() < HELD_OUT_FALL * before.heldOut(),
        method + ": held-out Zorbo stories' loss falls by more than half: " + before.heldOut() + " -> " + after.heldOut());
    assertTrue(after.plain() < PLAIN_BOUND * before.plain(),
        method + ": plain stories' loss stays within 25% of the base: " + before.plain() + " -> " + after.plain());
  }

  @Test
  void loraTeachesANewCharacter() throws Exception {
    Behaviour before = behaviour(null, false);
    Path adapter = train("lora", "lora");
    assertLearned("LoRA", before, behaviour(adapter, false));
  }

  @Test
  void qloraTeachesANewCharacter() throws Exception {
    Behaviour before = behaviour(null, true);
    Path adapter = train("qlora", "qlora");
    assertLearned("QLoRA", before, behaviour(adapter, true));
  }
}
