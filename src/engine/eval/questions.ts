import { readFile } from "node:fs/promises";
import { DuetError } from "../errors.js";

export interface Question {
  id: string;
  /** "math": a numeric or expression answer; "choice": a letter. */
  kind: "math" | "choice";
  question: string;
  choices?: string[];
  answer: string;
  source: string;
}

const LETTERS = "ABCDEFGHIJKLMNOP";

/**
 * The project's own small set: arithmetic and logic word problems and multiple-choice items with
 * known answers, written for Duet (not taken from any benchmark).
 */
export const BUILTIN_QUESTIONS: readonly Question[] = [
  [
    "muffins",
    "A baker makes 12 muffins per tray and bakes 7 trays. She sells 60 muffins. How many are left?",
    "24",
  ],
  ["times", "What is 17 times 23?", "391"],
  ["train", "A train travels 180 km in 2.5 hours. What is its average speed in km per hour?", "72"],
  ["ages", "Tom is twice as old as Ann. In 5 years their ages will add up to 40. How old is Ann now?", "10"],
  ["sum-1-50", "What is the sum of the integers from 1 to 50?", "1275"],
  [
    "discount",
    "A shirt costs 40 dollars after a 20 percent discount. What was the original price in dollars?",
    "50",
  ],
  ["minutes", "How many minutes are there in 3.5 hours?", "210"],
  ["remainder", "What is the remainder when 1000 is divided by 7?", "6"],
  [
    "rectangle",
    "A rectangle has a perimeter of 30 cm and a length of 9 cm. What is its area in square centimetres?",
    "54",
  ],
  ["power", "What is 2 to the power of 10?", "1024"],
  ["linear", "If 3x + 7 = 25, what is x?", "6"],
  ["lcm", "What is the least common multiple of 12 and 18?", "36"],
  ["fuel", "A car uses 6 litres of fuel per 100 km. How many litres does it need for 350 km?", "21"],
  ["percent", "What is 15 percent of 240?", "36"],
  ["primes", "How many prime numbers are there between 1 and 30?", "10"],
  [
    "average",
    "The average of four numbers is 15. Three of them are 10, 12 and 20. What is the fourth?",
    "18",
  ],
  ["gcd", "What is the greatest common divisor of 84 and 126?", "42"],
  [
    "clock",
    "A clock shows exactly 3 o'clock. What is the smaller angle between the hands, in degrees?",
    "90",
  ],
  ["line-up", "In how many different orders can 4 people stand in a line?", "24"],
  [
    "marbles",
    "Sam has 3 red and 5 blue marbles and picks one at random. What is the probability that it is red, as a fraction?",
    "3/8",
  ],
  [
    "syllogism",
    "All bloops are razzies and all razzies are lazzies. Are all bloops definitely lazzies? Answer yes or no.",
    "yes",
  ],
  ["weekday", "If today is Wednesday, what day of the week will it be 10 days from now?", "saturday"],
  ["heights", "Ann is taller than Ben, and Ben is taller than Cal. Who is the shortest?", "cal"],
]
  .map(([id, question, answer]): Question => ({
    id: id!,
    kind: "math",
    question: question!,
    answer: answer!,
    source: "duet",
  }))
  .concat(
    (
      [
        ["closest-planet", "Which planet is closest to the Sun?", ["Venus", "Mercury", "Mars", "Earth"], "B"],
        ["gold", "What is the chemical symbol for gold?", ["Ag", "Gd", "Au", "Go"], "C"],
        ["prime-choice", "Which of these numbers is prime?", ["21", "27", "29", "33"], "C"],
        [
          "boiling",
          "At sea level, at what temperature in degrees Celsius does water boil?",
          ["90", "100", "110", "120"],
          "B",
        ],
        ["mammal", "Which of these animals is a mammal?", ["Shark", "Dolphin", "Trout", "Octopus"], "B"],
        ["hexagon", "How many sides does a hexagon have?", ["5", "6", "7", "8"], "B"],
        [
          "squares",
          "If all squares are rectangles, which statement must be true?",
          [
            "All rectangles are squares",
            "Some squares are not rectangles",
            "Every square is a rectangle",
            "No rectangle is a square",
          ],
          "C",
        ],
      ] as Array<[string, string, string[], string]>
    ).map(([id, question, choices, answer]): Question => ({
      id,
      kind: "choice",
      question,
      choices,
      answer,
      source: "duet",
    })),
  );

/** The prompt a question is asked with (the paper's wrappers, in the project's words). */
export function promptFor(q: Question): string {
  if (q.kind === "choice") {
    const options = (q.choices ?? []).map((c, i) => `(${LETTERS[i]}) ${c}`).join("\n");
    return `Please reason step by step, and put the letter of your final answer within \\boxed{}, for example \\boxed{A}.\n\nQuestion: ${q.question}\nChoices:\n${options}`;
  }
  return `Please reason step by step, and put your final answer within \\boxed{}.\n\n${q.question}`;
}

/**
 * Reads questions from JSON Lines in the MATH-500 layout ({problem, answer}) or the MMLU-Pro
 * layout ({question, options, answer}); a bad line is reported with its number.
 */
export async function loadQuestions(path: string): Promise<Question[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new DuetError(
      "invalid-argument",
      `Cannot read the questions file ${path}: ${(error as Error).message}`,
    );
  }
  const questions: Question[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const where = `${path} line ${index + 1}`;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new DuetError("invalid-argument", `${where} is not valid JSON.`);
    }
    if (
      typeof row.problem === "string" &&
      (typeof row.answer === "string" || typeof row.answer === "number")
    ) {
      questions.push({
        id: String(row.unique_id ?? row.id ?? `math-${index + 1}`),
        kind: "math",
        question: row.problem,
        answer: String(row.answer),
        source: "math-500",
      });
    } else if (
      typeof row.question === "string" &&
      Array.isArray(row.options) &&
      row.options.every((o) => typeof o === "string")
    ) {
      const answer =
        typeof row.answer === "string"
          ? row.answer
          : typeof row.answer_index === "number"
            ? LETTERS[row.answer_index]
            : undefined;
      if (!answer || !/^[A-P]$/.test(answer))
        throw new DuetError("invalid-argument", `${where} has no answer letter (answer or answer_index).`);
      questions.push({
        id: String(row.question_id ?? row.id ?? `choice-${index + 1}`),
        kind: "choice",
        question: row.question,
        choices: row.options as string[],
        answer,
        source: "mmlu-pro",
      });
    } else {
      throw new DuetError(
        "invalid-argument",
        `${where} is neither MATH-500 ({"problem","answer"}) nor MMLU-Pro ({"question","options","answer"}) layout.`,
      );
    }
  });
  if (questions.length === 0) throw new DuetError("invalid-argument", `${path} holds no questions.`);
  const ids = new Set<string>();
  for (const q of questions) {
    if (ids.has(q.id)) q.id = `${q.id}-${questions.indexOf(q) + 1}`;
    ids.add(q.id);
  }
  return questions;
}
