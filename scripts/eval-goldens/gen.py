#!/usr/bin/env python3
"""Goldens for hero-lvlm's scorers (src/eval/), made by running the official scoring code.

Usage (any Python 3 with numpy, pandas and scikit-learn; Debian: python3-pandas python3-sklearn):

    python3 scripts/eval-goldens/gen.py --lmms-eval DIR --llava DIR [--mme-eval-tool DIR] \
        --out spec/fixtures/eval/goldens.json

  --lmms-eval      a checkout of EvolvingLMMs-Lab/lmms-eval at v0.2.4 (af395ae1acf077e01db6dd6284de71a025fba061)
  --llava          a checkout of haotian-liu/LLaVA at c121f043
  --mme-eval-tool  the MME benchmark's eval_tool/ folder (calculation.py), from eval_tool.zip of
                   BradyFU/Awesome-Multimodal-Large-Language-Models (commit 1c1d69e1, tools/eval_tool.zip)
  --gqa-eval       the GQA eval.py as LLaVA users run it (the official script with the scene-graph and
                   choices loading commented out, LLaVA docs/Evaluation.md), e.g. the copy in
                   afra-baas/LLaVA@57e09fef:playground/data/eval/gqa/data/eval.py

Nothing of those repositories is copied here: this script imports their scoring functions (or runs their
scripts as programs) on answers written below to hit each rule, and records what they return. Modules
the scorers import but never use for scoring (loguru, datasets, evaluate, sacrebleu, sqlitedict, the
metric registry) are replaced by empty stand-ins, so no model code or network is needed.

lmms-eval strips every generation before a task's process_results sees it (api/task.py,
ConfigurableTask.process_results: `results[0] = results[0].strip()`); the calls below do the same.
GQA under LLaVA: scripts/convert_gqa_for_eval.py, then the GQA eval.py (both run as programs); its
Accuracy/Binary/Open are printed with two decimals, which is all the golden records of them.
"""
import argparse
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import types
from contextlib import redirect_stderr, redirect_stdout


# ---- stand-ins for imports the scorers do not use ------------------------------------------------------

def install_stubs():
    class _Log:
        def __getattr__(self, name):
            return lambda *a, **k: None
    stub = types.ModuleType("loguru"); stub.logger = _Log(); sys.modules["loguru"] = stub
    ds = types.ModuleType("datasets"); ds.Dataset = object; ds.load_dataset = None; sys.modules["datasets"] = ds
    for name in ["evaluate", "sacrebleu", "sqlitedict"]:
        sys.modules[name] = types.ModuleType(name)
    reg = types.ModuleType("lmms_eval.api.registry")
    reg.register_metric = lambda **k: (lambda f: f)
    reg.register_aggregation = lambda *a, **k: (lambda f: f)
    sys.modules["lmms_eval.api.registry"] = reg


def package_shells(lmms_root):
    """lmms_eval's packages without their __init__ (tasks/__init__ would import the whole model zoo)."""
    for pkg in ["lmms_eval", "lmms_eval.api", "lmms_eval.tasks", "lmms_eval.tasks._task_utils", "lmms_eval.filters"]:
        m = types.ModuleType(pkg)
        m.__path__ = [os.path.join(lmms_root, *pkg.split("."))]
        sys.modules[pkg] = m


def load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# ---- answers written to hit each rule ---------------------------------------------------------------------

NORMALIZE_INPUTS = [
    "Two dogs.", "The answer is 1,000", "a.b.c", "3.5", "Dont know", "it's red", "It's red", "None of them",
    "hello-world", "a/b", "U.S.A.", "x" + "." * 40 + "y", "1,000 and 2, 3", "yes", "Yes.", "  no  ",
    "an apple", "the THE a", "ten", "Ten Seven", "zero", "one-two", "(red)", "red (dark)", "x ; y", "x;y",
    "what's this?", "whats up", "Im here", "Ive", "cant", "can't", "youre", "y'all", "$5", "50%", "#1",
    "a*b", "3:45", "tv's", "12,5", "1, 2", "e.g. this", "3.", ".5", "a.5", "mr. smith's", "hi!!", "\"quoted\"",
    "x\ty\nz", "under_score", "a+b=c", "<tag>", "@home", "back\\slash", "`tick`", "[box]", "{brace}",
    "multiple   spaces", "", " ", "..", "No.", "NONE", "nine eleven", "o'clock", "oclock", "somebodyd",
    "somebody'd", "it 's", "dogs,cats", "one, two", "1,2,3", "x.y.z 1.5", "first. second", "\u00a0yes\u00a0",
    "\u3000no", "caf\u00e9", "\u0661,\u0662", "twenty-one", "The", "A", "an", "I'm", "shouldve", "wont",
]

# (prediction, ten human answers)
VQA_CASES = [
    ("2", ["2", "2", "two"] + ["3"] * 7), ("3", ["2", "2", "two"] + ["3"] * 7), ("Three", ["2", "2", "two"] + ["3"] * 7),
    ("two", ["2", "2", "two"] + ["3"] * 7), ("yes", ["Yes"] * 10), ("Yes", ["yes"] * 10), ("yes", ["yes"] * 10),
    ("Yes.", ["yes"] * 9 + ["no"]), ("The red one", ["red"] * 5 + ["red one"] * 5), ("red one", ["red"] * 5 + ["red one"] * 5),
    ("t-shirt", ["t shirt"] * 4 + ["tshirt"] * 3 + ["t-shirt"] * 3), ("tshirt", ["t shirt"] * 4 + ["tshirt"] * 3 + ["t-shirt"] * 3),
    ("1,000", ["1000"] * 6 + ["1,000"] * 4), ("1000", ["1000"] * 6 + ["1,000"] * 4), ("dont know", ["don't know"] * 10),
    ("don't know", ["dont know"] * 5 + ["unsure"] * 5), ("Unanswerable", ["unanswerable"] * 8 + ["unsuitable"] * 2),
    ("unsuitable image", ["unanswerable"] * 8 + ["unsuitable"] * 2), ("a/b", ["b"] * 3 + ["a/b"] * 7),
    ("b", ["b"] * 3 + ["a/b"] * 7), ("  2  ", ["2"] * 10), ("Two.", ["2"] * 2 + ["3"] * 8), ("it's red", ["it's red"] * 2 + ["red"] * 8),
    ("red", ["Red"] * 10), ("Red", ["red"] * 2 + ["Red"] * 8), ("nothing", ["x"] * 10), ("U.S.A.", ["usa"] * 4 + ["us"] * 6),
    ("left\n", ["left"] * 10), ("3 pm", ["3 pm", "3:00 pm", "3pm"] * 3 + ["3 pm"]), ("3:00 PM", ["3 pm", "3:00 pm", "3pm"] * 3 + ["3 pm"]),
]

GQA_CASES = [
    ("yes", "yes"), ("Yes.", "yes"), ("Yes", "yes"), ("t-shirt", "t-shirt"), ("tshirt", "t-shirt"), ("T-shirt.", "t-shirt"),
    ("left.", "left"), (" left ", "left"), ("the left", "left"), ("red...", "red"), ("st. mary", "st mary"),
    ("no!", "no"), ("man's", "man's"), ("mans", "man's"), ("", "yes"), ("Left\n", "left"),
]

POPE_CASES = {  # split → [(prediction, label)]
    "adversarial": [("Yes", "yes"), ("yes.", "yes"), ("No", "no"), ("no.", "no"), ("Yes, there is a dog.", "yes"),
                    ("There is not a cat.", "no"), ("No, it is not.", "yes"), ("I think so", "no"), ("", "no"), ("yes", "no")],
    "popular": [("yes", "yes"), ("no", "yes"), ("no", "no"), ("No", "no"), ("not sure", "no"), ("There is no cup.", "yes"),
                ("yes, one", "yes"), ("Nope", "no")],
    "random": [("yes", "yes"), ("YES", "yes"), ("no", "no"), ("No.", "no"), ("yes", "yes"), ("no", "yes"), ("none", "no"), ("Not.", "no")],
}

MME_PREDS = ["Yes", "No", "yes.", "No.", "y", "n", "Yes, it is.", "No, it is not.", "not", "nope", "Y.", "maybe",
             "noyes", "yesno", "I don't know", "", "  yes  ", "NO", "The answer is yes", "n.o."]

SQA_CASES = [  # (prediction, answer index, number of choices)
    ("A", 0, 2), ("B", 0, 2), ("a", 0, 2), ("A.", 0, 3), ("A. dog", 0, 3), ("B. cat", 1, 3), ("The answer is B.", 1, 3),
    ("The answer is C", 2, 3), ("The answer is B. The answer is C.", 1, 3), (" C ", 2, 3), ("E", 4, 5), ("E", 1, 2),
    ("(A)", 0, 2), ("A) dog", 0, 2), ("Answer: B", 1, 2), ("b.", 1, 2), ("D", 3, 4), ("", 0, 2), ("C. ", 2, 3), ("The answer is Bx", 1, 3),
]

CHARTQA_CASES = [
    ("12", "12"), ("12.5", "12"), ("12.6", "12"), ("11.4", "12"), ("11.39", "12"), ("50%", "0.5"), ("0.5", "50%"),
    ("52%", "50%"), ("0", "0"), ("0.0", "0"), ("1", "0"), ("Yes", "yes"), ("yes", "Yes"), ("1,000", "1000"), ("1_000", "1000"),
    (" 7 ", "7"), ("7%%", "0.07"), ("1e3", "1000"), ("inf", "inf"), ("nan", "5"), ("-5", "-5.2"), ("abc", "ABC"), ("", ""),
    ("3.", "3"), (".5", "0.5"), ("+4", "4"), ("2019", "2018"), ("2018", "2019"), ("Infinity", "1"), ("5 %", "5%"),
]

OCRBENCH_CASES = [  # (prediction, answers, dataset)
    ("The sign says STOP", ["stop"], "IIIT5K"), ("stop", ["STOP"], "IIIT5K"), ("sto p", ["stop"], "IIIT5K"),
    ("Hello World", ["hello world", "hi"], "docVQA"), ("it is hi there", ["hello world", "hi"], "docVQA"),
    ("x ^ { 2 }", ["x^{2}"], "HME100k"), ("X^{2}", ["X^{2}"], "HME100k"), ("x^{2}", ["X^{2}"], "HME100k"),
    ("line one\nline two", ["one line"], "FUNSD"), ("nothing", ["something"], "FUNSD"), ("  Total: 5  ", ["total: 5"], "SROIE"),
    ("abc", "abc", "IIIT5K"),
]

# MMBench rows: (index, answer, prediction, options A..D (None = absent))
MMB_OPTIONS = {"A": "cat", "B": "dog", "C": "bird", "D": None}
MMBENCH_CASES = [
    # question 1: three rotations, all right
    (1, "A", "A", {"A": "cat", "B": "dog", "C": "bird"}), (1000001, "C", "C.", {"A": "dog", "B": "bird", "C": "cat"}),
    (2000001, "B", "The answer is B", {"A": "bird", "B": "cat", "C": "dog"}),
    # question 2: one rotation wrong
    (2, "B", "B", {"A": "red", "B": "blue", "C": "green", "D": "black"}), (1000002, "A", "(C)", {"A": "blue", "B": "green", "C": "black", "D": "red"}),
    # question 3: answered by option text
    (3, "A", "It is a cat.", {"A": "cat", "B": "dog"}), (1000003, "B", "a cat", {"A": "dog", "B": "cat"}),
    # question 4: unparsed ("A" as a quantifier, two letters, no option text)
    (4, "C", "A big C and D", {"A": "one", "B": "two", "C": "three", "D": "four"}), (1000004, "B", "B", {"A": "two", "B": "three", "C": "four", "D": "one"}),
    # question 5: unparsed copy after a wrong one (wrong wins, no fallback)
    (5, "A", "I cannot tell", {"A": "x", "B": "y"}), (1000005, "B", "A", {"A": "y", "B": "x"}),
    # question 6: decorated letters
    (6, "D", "D)", {"A": "p", "B": "q", "C": "r", "D": "s"}), (1000006, "C", ":C", {"A": "q", "B": "r", "C": "s", "D": "p"}),
    (2000006, "B", "(B).", {"A": "r", "B": "s", "C": "p", "D": "q"}), (3000006, "A", "A:", {"A": "s", "B": "p", "C": "q", "D": "r"}),
    # question 7: both texts inside the answer → unparsed; question 8: E as a letter
    (7, "A", "cat or dog", {"A": "cat", "B": "dog"}), (8, "B", "E", {"A": "yes", "B": "no"}),
    # question 9: lowercase letter and "A" with few words
    (9, "A", "a", {"A": "left", "B": "right"}), (10, "A", "A dog", {"A": "dog", "B": "cat"}),
    (11, "B", "Option B, because", {"A": "1", "B": "2"}), (12, "A", "A. B. C.", {"A": "1", "B": "2", "C": "3"}),
]

RWQA_CASES = [  # (prediction, question, answer)
    ("A", "Which way?\nA. left\nB. right\nPlease answer directly with only the letter of the correct option and nothing else.", "A"),
    ("B.", "Which way?\nA. left\nB. right\nPlease answer directly with only the letter of the correct option and nothing else.", "B"),
    ("right", "Which way?\nA. left\nB. right\nPlease answer directly.", "B"),
    ("The right lane", "Which way?\nA. left\nB. right\nPlease answer directly.", "B"),
    ("three", "How many cars are there? Please answer directly with a single word or number.", "3"),
    ("Three", "How many cars are there? Please answer directly with a single word or number.", "3"),
    ("3.", "How many cars are there? Please answer directly with a single word or number.", "3"),
    ("Three cars", "How many cars are there? Please answer directly with a single word or number.", "3"),
    ("yes", "Is it safe? Please answer directly with a single word.", "Yes"),
    ("(C)", "Pick one.\nA. 10 m\nB. 20 m\nC. 30 m", "C"),
    ("20 m", "Pick one.\nA. 10 m\nB. 20 m\nC. 30 m", "B"),
    ("3.5 m", "Distance?\nA. 3.5 m\nB. 5 m", "A"),
    (" c ", "Pick one.\nA. 10 m\nB. 20 m\nC. 30 m", "C"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lmms-eval", required=True)
    ap.add_argument("--llava", required=True)
    ap.add_argument("--mme-eval-tool")
    ap.add_argument("--gqa-eval")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    install_stubs()
    package_shells(args.lmms_eval)
    sys.path.insert(0, args.lmms_eval)
    sys.path.insert(0, args.llava)
    T = os.path.join(args.lmms_eval, "lmms_eval", "tasks")

    from lmms_eval.tasks._task_utils.vqa_eval_metric import EvalAIAnswerProcessor as LmmsProc
    for pkg in ["llava", "llava.eval"]:                                   # llava/__init__ imports the model
        m = types.ModuleType(pkg)
        m.__path__ = [os.path.join(args.llava, *pkg.split("."))]
        sys.modules[pkg] = m
    from llava.eval.m4c_evaluator import EvalAIAnswerProcessor as LlavaProc, TextVQAAccuracyEvaluator
    from lmms_eval.api.metrics import exact_match_hf_evaluate
    vqav2 = load_file("t_vqav2", os.path.join(T, "vqav2", "utils.py"))
    textvqa = load_file("t_textvqa", os.path.join(T, "textvqa", "utils.py"))
    vizwiz = load_file("t_vizwiz", os.path.join(T, "vizwiz_vqa", "utils.py"))
    pope = load_file("t_pope", os.path.join(T, "pope", "utils.py"))
    mme = load_file("t_mme", os.path.join(T, "mme", "utils.py"))
    sqa = load_file("t_sqa", os.path.join(T, "scienceqa", "utils.py"))
    chartqa = load_file("t_chartqa", os.path.join(T, "chartqa", "utils.py"))
    ocrbench = load_file("t_ocrbench", os.path.join(T, "ocrbench", "utils.py"))
    rwqa = load_file("t_rwqa", os.path.join(T, "realworldqa", "utils.py"))
    mmbench_evals = load_file("t_mmbench", os.path.join(T, "mmbench", "mmbench_evals.py"))
    llava_pope = load_file("l_pope", os.path.join(args.llava, "llava", "eval", "eval_pope.py"))

    out = {"sources": {
        "lmms-eval": "EvolvingLMMs-Lab/lmms-eval@af395ae1acf077e01db6dd6284de71a025fba061 (v0.2.4)",
        "llava": "haotian-liu/LLaVA@c121f043",
        "mme_eval_tool": "BradyFU/Awesome-Multimodal-Large-Language-Models@1c1d69e1:tools/eval_tool.zip" if args.mme_eval_tool else None,
        "gqa_eval_py": "afra-baas/LLaVA@57e09fef:playground/data/eval/gqa/data/eval.py (GQA eval.py as LLaVA patches it)" if args.gqa_eval else None,
    }}

    # -- the normaliser: each step, both copies --------------------------------------------------------------
    lp, vp = LmmsProc(), LlavaProc()
    out["normalize"] = []
    for s in NORMALIZE_INPUTS:
        row = {"input": s, "full": lp(s), "word_tokenize": lp.word_tokenize(s),
               "punctuation": lp.process_punctuation(s), "digit_article": lp.process_digit_article(s)}
        assert vp(s) == row["full"] and vp.process_punctuation(s) == row["punctuation"], s
        out["normalize"].append(row)
    out["tables"] = {"contractions": dict(LmmsProc.CONTRACTIONS), "punctuations": list(LmmsProc.PUNCTUATIONS),
                     "articles": list(LmmsProc.ARTICLES)}

    # -- VQA soft accuracy ------------------------------------------------------------------------------------
    out["vqav2_lmms"], out["textvqa_lmms"], out["vizwiz_lmms"], out["textvqa_llava"] = [], [], [], []
    for pred, gts in VQA_CASES:
        records = [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(gts)]
        out["vqav2_lmms"].append({"prediction": pred, "answers": records,
                                  "score": vqav2.vqav2_process_results({"question_id": 1, "answers": [dict(r) for r in records]}, [pred.strip()])["exact_match"]})
        out["textvqa_lmms"].append({"prediction": pred, "answers": gts,
                                    "score": textvqa.textvqa_process_results({"question_id": 1, "answers": list(gts)}, [pred.strip()])["exact_match"]})
        out["vizwiz_lmms"].append({"prediction": pred, "answers": gts,
                                   "score": vizwiz.vizwiz_vqa_process_results({"question_id": 1, "answers": list(gts)}, [pred.strip()])["exact_match"]})
        with redirect_stdout(io.StringIO()):
            s = TextVQAAccuracyEvaluator().eval_pred_list([{"pred_answer": pred, "gt_answers": list(gts)}])
        out["textvqa_llava"].append({"prediction": pred, "answers": gts, "score": s})
    # a record repeated whole (same answer, confidence and id) is not "another" answer in lmms-eval's VQAv2
    dup = [{"answer": "cat", "answer_confidence": "yes", "answer_id": 1}] * 4 + \
          [{"answer": "dog", "answer_confidence": "maybe", "answer_id": i} for i in range(2, 8)]
    out["vqav2_lmms"].append({"prediction": "cat", "answers": dup,
                              "score": vqav2.vqav2_process_results({"question_id": 1, "answers": [dict(r) for r in dup]}, ["cat"])["exact_match"]})

    # -- GQA ----------------------------------------------------------------------------------------------------
    out["gqa_lmms"] = [{"prediction": p, "answer": g, "correct": bool(exact_match_hf_evaluate([p.strip()], [g], ignore_case=True, ignore_punctuation=True)["exact_match"])}
                       for p, g in GQA_CASES]
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "a.jsonl"), os.path.join(d, "p.json")
        with open(src, "w") as f:
            for i, (p, g) in enumerate(GQA_CASES):
                f.write(json.dumps({"question_id": str(i), "text": p}) + "\n")
        subprocess.run([sys.executable, os.path.join(args.llava, "scripts", "convert_gqa_for_eval.py"), "--src", src, "--dst", dst], check=True)
        converted = {x["questionId"]: x["prediction"] for x in json.load(open(dst))}
    out["gqa_llava"] = [{"prediction": p, "answer": g, "converted": converted[str(i)], "correct": converted[str(i)] == g,
                         "balanced": i % 5 != 4, "structural": "query" if i % 3 else "verify"}
                        for i, (p, g) in enumerate(GQA_CASES)]
    if args.gqa_eval:
        with tempfile.TemporaryDirectory() as d:
            qs = {str(i): {"question": "q x", "answer": c["answer"], "isBalanced": c["balanced"], "semantic": [],
                           "types": {"structural": c["structural"], "semantic": "attr", "detailed": "x"}, "groups": {"global": "g"}}
                  for i, c in enumerate(out["gqa_llava"])}
            json.dump(qs, open(os.path.join(d, "testdev_balanced_questions.json"), "w"))
            json.dump([{"questionId": k, "prediction": v} for k, v in converted.items()], open(os.path.join(d, "testdev_balanced_predictions.json"), "w"))
            res = subprocess.run([sys.executable, os.path.abspath(args.gqa_eval), "--tier", "testdev_balanced"], cwd=d, check=True,
                                 capture_output=True, text=True).stdout
        val = lambda key: float(next(l for l in res.splitlines() if l.startswith(key + ":")).split(":")[1].strip().rstrip("%"))
        out["gqa_llava_eval_py"] = {"accuracy": val("Accuracy"), "binary": val("Binary"), "open": val("Open"), "decimals": 2}

    # -- POPE ---------------------------------------------------------------------------------------------------
    lm_all, out["pope"] = [], {"cases": POPE_CASES, "lmms": {}, "llava": {}}
    aggs = {"accuracy": pope.pope_aggregate_accuracy, "precision": pope.pope_aggregate_precision, "recall": pope.pope_aggregate_recall,
            "f1": pope.pope_aggregate_f1_score, "yes_ratio": pope.pope_aggregate_yes_ratio}
    qid = 0
    for split, items in POPE_CASES.items():
        rs = []
        for p, g in items:
            qid += 1
            rs.append(pope.pope_process_results({"question_id": qid, "answer": g}, [p.strip()])["pope_accuracy"])
        lm_all += rs
        out["pope"]["lmms"][split] = {k: f(rs) for k, f in aggs.items()}
        with tempfile.TemporaryDirectory() as d:
            lf = os.path.join(d, "labels.json")
            with open(lf, "w") as f:
                for i, (p, g) in enumerate(items):
                    f.write(json.dumps({"question_id": i + 1, "label": g}) + "\n")
            buf = io.StringIO()
            with redirect_stdout(buf):
                llava_pope.eval_pope([{"question_id": i + 1, "text": p} for i, (p, g) in enumerate(items)], lf)
        lines = buf.getvalue().splitlines()
        tp, fp, tn, fn = (int(x) for x in lines[1].split("\t"))
        val = lambda key: float(next(l for l in lines if l.startswith(key)).split(": ")[1])
        out["pope"]["llava"][split] = {"TP": tp, "FP": fp, "TN": tn, "FN": fn, "accuracy": val("Accuracy"), "precision": val("Precision"),
                                       "recall": val("Recall"), "f1": val("F1 score"), "yes_ratio": val("Yes ratio")}
    out["pope"]["lmms"]["pooled"] = {k: f(lm_all) for k, f in aggs.items()}

    # -- MME ----------------------------------------------------------------------------------------------------
    cats = mme.eval_type_dict["Perception"] + mme.eval_type_dict["Cognition"]
    rows = []  # (category, image, question, gt, prediction): two questions per image, answers rotate through MME_PREDS
    k = 0
    for ci, cat in enumerate(cats):
        for img in range(2):
            for qi, gt in enumerate(["Yes", "No"] if (ci + img) % 2 == 0 else ["No", "Yes"]):
                rows.append((cat, f"{img:04d}.png", f"Is this q{qi}? Please answer yes or no.", gt, MME_PREDS[k % len(MME_PREDS)]))
                k += 1
    lres = [mme.mme_process_results({"question_id": f"{c}/{im}", "category": c, "answer": g}, [p.strip()]) for c, im, q, g, p in rows]
    per = lambda key: [r[key] for r in lres if key in r]
    out["mme"] = {"rows": rows, "lmms": {"perception": mme.mme_aggregate_results(per("mme_percetion_score")),
                                          "cognition": mme.mme_aggregate_results(per("mme_cognition_score")),
                                          "parsed": [mme.parse_pred_ans(p) for p in MME_PREDS]}}
    if args.mme_eval_tool:
        calc = load_file("mme_calc", os.path.join(args.mme_eval_tool, "calculation.py"))
        with tempfile.TemporaryDirectory() as d:
            for cat in cats:
                with open(os.path.join(d, cat + ".txt"), "w") as f:
                    for c, im, q, g, p in rows:
                        if c == cat:
                            f.write(f"{im}\t{q}\t{g}\t{p}\n")
            buf = io.StringIO()
            with redirect_stdout(buf):
                calc.calculate_metrics().process_result(d)
        totals, subtasks = [], {}
        for line in buf.getvalue().splitlines():
            if line.startswith("total score:"):
                totals.append(float(line.split(":")[1]))
            elif " score:" in line:
                name, v = line.strip().split("  score:")
                subtasks[name.strip()] = float(v)
        c = calc.calculate_metrics()
        out["mme"]["official"] = {"perception": totals[0], "cognition": totals[1], "subtasks": subtasks,
                                  "parsed": [c.parse_pred_ans(p.lower()) for p in MME_PREDS]}

    # -- ScienceQA ---------------------------------------------------------------------------------------------
    out["sqa_lmms"] = [{"prediction": p, "answer": a, "choices": n,
                        "correct": sqa.sqa_process_results({"choices": ["c"] * n, "answer": a}, [p.strip()])["exact_match"] == 1.0}
                       for p, a, n in SQA_CASES]
    with tempfile.TemporaryDirectory() as d:
        problems = {str(i): {"choices": [f"c{j}" for j in range(n)], "answer": a} for i, (p, a, n) in enumerate(SQA_CASES)}
        json.dump(problems, open(os.path.join(d, "problems.json"), "w"))
        json.dump({"test": list(problems)}, open(os.path.join(d, "pid_splits.json"), "w"))
        with open(os.path.join(d, "r.jsonl"), "w") as f:
            for i, (p, a, n) in enumerate(SQA_CASES):
                f.write(json.dumps({"question_id": str(i), "prompt": "<image>\nq", "text": p}) + "\n")
        subprocess.run([sys.executable, os.path.join(args.llava, "llava", "eval", "eval_science_qa.py"), "--base-dir", d,
                        "--result-file", os.path.join(d, "r.jsonl"), "--output-file", os.path.join(d, "o.json"),
                        "--output-result", os.path.join(d, "or.json")], check=True, stdout=subprocess.DEVNULL)
        res = json.load(open(os.path.join(d, "or.json")))["results"]
    out["sqa_llava"] = [{"prediction": p, "answer": a, "choices": n, "parsed_index": res[str(i)], "correct": res[str(i)] == a}
                        for i, (p, a, n) in enumerate(SQA_CASES)]

    # -- ChartQA, OCRBench ---------------------------------------------------------------------------------------
    out["chartqa"] = [{"prediction": p, "answer": t, "correct": chartqa.chartqa_process_results({"type": "human_test", "answer": t}, [p.strip()])["relaxed_overall"] == 1.0}
                      for p, t in CHARTQA_CASES]
    out["ocrbench"] = [{"prediction": p, "answers": a, "dataset": ds,
                        "correct": ocrbench.ocrbench_process_results({"answer": a, "dataset": ds, "question_type": "Doc-oriented VQA"}, [p.strip()])["ocrbench_accuracy"]["score"] == 1}
                       for p, a, ds in OCRBENCH_CASES]

    # -- MMBench circular (rule-based; the GPT fallback replaced by "wrong", and counted) -------------------------
    ev = mmbench_evals.MMBench_Evaluator()
    fallback = []
    ev.extract_answer_from_item = lambda item: (fallback.append(int(item["index"])) or (False, ""))
    results = []
    for idx, ans, pred, opts in MMBENCH_CASES:
        r = {"index": idx, "question": "q", "answer": ans, "prediction": pred, "hint": "nan", "source": "s", "split": "dev",
             "category": "cat%d" % (idx % 1000000 % 3), "L2-category": "l2"}
        for c in "ABCD":
            r[c] = opts.get(c, float("nan"))
        results.append(r)
    import warnings
    warnings.simplefilter("ignore")
    with redirect_stdout(io.StringIO()):
        overall, by_cat, _ = ev.eval_result(results, eval_method="openai")
    per_question = {}
    for idx, ans, pred, opts in MMBENCH_CASES:
        per_question.setdefault(idx % 1000000, None)
    out["mmbench"] = {"rows": [{"index": i, "answer": a, "prediction": p, "options": o} for i, a, p, o in MMBENCH_CASES],
                      "overall": overall, "fallback_questions": sorted(set(i % 1000000 for i in fallback)),
                      "infer": [{"prediction": p, "options": o, "letter": ev.can_infer(p, {k: v for k, v in o.items()}) or None}
                                for i, a, p, o in MMBENCH_CASES]}

    # -- RealWorldQA (filters, then exact match) -----------------------------------------------------------------
    out["rwqa"] = []
    for p, q, a in RWQA_CASES:
        doc = {"question": q, "answer": a}
        r1 = rwqa.NumberWordsToDigitsFilter().apply([[p]], [doc])
        r2 = rwqa.MultiChoiceRegexFilter(regex_pattern=r"(\([A-Z]\))", group_select=0, ignore_case=True, ignore_punctuation=True).apply(r1, [doc])
        res = r2[0].strip()
        ok = exact_match_hf_evaluate([res], [a], ignore_case=True, ignore_punctuation=True)["exact_match"]
        out["rwqa"].append({"prediction": p, "question": q, "answer": a, "extracted": r2[0], "correct": bool(ok)})

    # -- TextVQA under LLaVA end to end: eval_textvqa.eval_single on an answer file keyed as LLaVA keys it ----
    tv = load_file("l_textvqa", os.path.join(args.llava, "llava", "eval", "eval_textvqa.py"))
    tv_ann = {"data": [
        {"question_id": 9001, "image_id": "img_a", "question": "What BRAND is this?", "answers": ["Sony"] * 6 + ["sony tv"] * 4},
        {"question_id": 9002, "image_id": "img_a", "question": "what number is shown?", "answers": ["7"] * 3 + ["seven"] * 3 + ["07"] * 4},
        {"question_id": 9003, "image_id": "img_b", "question": "who made it?", "answers": ["the acme co."] * 10},
        {"question_id": 9004, "image_id": "img_c", "question": "what does the sign say?", "answers": ["stop"] * 9 + ["halt"]},
    ]}
    suffix = "\nAnswer the question using a single word or phrase."
    tv_questions = [{"question_id": a["image_id"], "image": a["image_id"] + ".jpg",
                     "text": a["question"] + "\nReference OCR token: x, y" + suffix} for a in tv_ann["data"]]
    tv_answers = ["sony", "Seven", "Acme Co", "halt."]
    with tempfile.TemporaryDirectory() as d:
        af, rf = os.path.join(d, "ann.json"), os.path.join(d, "res.jsonl")
        json.dump(tv_ann, open(af, "w"))
        with open(rf, "w") as f:
            for q, t in zip(tv_questions, tv_answers):
                f.write(json.dumps({"question_id": q["question_id"], "prompt": q["text"], "text": t}) + "\n")
        buf = io.StringIO()
        with redirect_stdout(buf), redirect_stderr(io.StringIO()):
            tv.eval_single(af, rf)
    acc = float(next(l for l in buf.getvalue().splitlines() if l.startswith("Accuracy:")).split(":")[1].strip().rstrip("%"))
    out["textvqa_llava_e2e"] = {"annotations": tv_ann, "questions": tv_questions, "answers": tv_answers, "accuracy": acc, "decimals": 2}

    # -- upload files: LLaVA's converters run as scripts (argv as its eval scripts pass it) ----------------------
    import runpy
    up_preds = {600: "Two.", 601: "a dog", 603: "The U.S.A.", 604: "dont know"}   # 602 unanswered
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "answers", "test-dev", "ck"))
        with open(os.path.join(d, "answers", "test-dev", "ck", "merge.jsonl"), "w") as f:
            for qid, t in up_preds.items():
                f.write(json.dumps({"question_id": qid, "prompt": "p", "text": t}) + "\n")
        with open(os.path.join(d, "llava_vqav2_mscoco_test2015.jsonl"), "w") as f:
            for qid in range(600, 606):
                f.write(json.dumps({"question_id": qid, "image": f"{qid}.jpg", "text": "q"}) + "\n")
        sys.argv = ["convert_vqav2_for_submission.py", "--dir", d, "--ckpt", "ck", "--split", "test-dev"]
        with redirect_stdout(io.StringIO()):
            runpy.run_path(os.path.join(args.llava, "scripts", "convert_vqav2_for_submission.py"), run_name="__main__")
        vqav2_upload = json.load(open(os.path.join(d, "answers_upload", "test-dev", "ck.json")))
        qfile, rfile, ufile = (os.path.join(d, n) for n in ("q.jsonl", "r.jsonl", "up/u.json"))
        with open(qfile, "w") as f:
            for i in range(4):
                f.write(json.dumps({"question_id": i, "image": f"VizWiz_test_{i:08d}.jpg", "text": "q"}) + "\n")
        with open(rfile, "w") as f:
            for i, t in enumerate(["Unanswerable", "the red one", "2 dogs", "It's a can."]):
                f.write(json.dumps({"question_id": i, "text": t}) + "\n")
        sys.argv = ["convert_vizwiz_for_submission.py", "--annotation-file", qfile, "--result-file", rfile, "--result-upload-file", ufile]
        with redirect_stdout(io.StringIO()):
            runpy.run_path(os.path.join(args.llava, "scripts", "convert_vizwiz_for_submission.py"), run_name="__main__")
        vizwiz_upload = json.load(open(ufile))
    out["upload"] = {"vqav2": {"predictions": {str(k): v for k, v in up_preds.items()}, "ids": list(range(600, 606)), "file": vqav2_upload},
                     "vizwiz": {"predictions": ["Unanswerable", "the red one", "2 dogs", "It's a can."], "file": vizwiz_upload}}

    # -- prompts and token limits, as lmms-eval's doc_to_text and yamls give them --------------------------------
    import yaml

    def task_yaml(rel):
        """A task yaml with its `include` merged in (the `!function` lines dropped, as en_utils.py does)."""
        path = os.path.join(T, rel)
        cfg = yaml.safe_load("".join(l for l in open(path) if "!function" not in l))
        if "include" in cfg:
            base = task_yaml(os.path.join(os.path.dirname(rel), cfg.pop("include")))
            base.update(cfg)
            cfg = base
        return cfg

    def limits(cfg):
        return (cfg.get("generation_kwargs") or {}).get("max_new_tokens")   # None: the model's default (1024)

    mmb = load_file("t_mmbench_en", os.path.join(T, "mmbench", "en_utils.py"))
    sqa_doc = {"hint": "A dog and a cat.", "question": "Which animal is larger?", "choices": ["dog", "cat", "both"]}
    sqa_doc2 = dict(sqa_doc, hint="")
    mmb_doc = {"question": "What is shown?", "answer": "A", "A": "a cat", "B": "a dog", "C": "a bird", "D": float("nan"), "E": float("nan"),
               "category": "c", "L2-category": "l", "index": 5, "hint": "A pet photo.", "source": "s", "split": "dev"}
    mmb_doc2 = dict(mmb_doc, hint=float("nan"), D="a fish")
    K = lambda rel: (task_yaml(rel).get("lmms_eval_specific_kwargs") or {}).get("default")
    prompts = []
    def add(task, doc, text, cfg_rel):
        prompts.append({"task": task, "doc": {k: (None if isinstance(v, float) else v) for k, v in doc.items()}, "text": text,
                        "max_new_tokens": limits(task_yaml(cfg_rel))})
    q = {"question": "what is the man holding?  Please answer yes or no."}
    add("vqav2_val", {"question": "What is the man holding?"}, vqav2.vqav2_doc_to_text({"question": "What is the man holding?"}, K("vqav2/vqav2_val.yaml")), "vqav2/vqav2_val.yaml")
    add("vizwiz_val", {"question": "what is this BOTTLE?"}, vizwiz.vizwiz_vqa_doc_to_text({"question": "what is this BOTTLE?"}, K("vizwiz_vqa/vizwiz_vqa_val.yaml")), "vizwiz_vqa/vizwiz_vqa_val.yaml")
    gqa_u = load_file("t_gqa", os.path.join(T, "gqa", "utils.py"))
    add("gqa", {"question": "Is the cup to the left of the plate?"}, gqa_u.gqa_doc_to_text({"question": "Is the cup to the left of the plate?"}, K("gqa/gqa.yaml")), "gqa/gqa.yaml")
    for d in (sqa_doc, sqa_doc2):
        add("scienceqa_img", d, sqa.sqa_doc_to_text(d, K("scienceqa/scienceqa_img.yaml")), "scienceqa/scienceqa_img.yaml")
    add("chartqa", {"question": "What is the peak value?"}, chartqa.chartqa_doc_to_text({"question": "What is the peak value?"}, K("chartqa/chartqa.yaml")), "chartqa/chartqa.yaml")
    add("textvqa_val", {"question": "what BRAND is the phone?"}, textvqa.textvqa_doc_to_text({"question": "what BRAND is the phone?"}, K("textvqa/textvqa_val.yaml")), "textvqa/textvqa_val.yaml")
    add("ocrbench", {"question": "  what is written in the image? "}, ocrbench.ocrbench_doc_to_text({"question": "  what is written in the image? "}), "ocrbench/ocrbench.yaml")
    add("mme", {"question": "Is there a dog in this image? Please answer yes or no."},
        mme.mme_doc_to_text({"question": "Is there a dog in this image? Please answer yes or no."}, K("mme/mme.yaml")), "mme/mme.yaml")
    for d in (mmb_doc, mmb_doc2):
        add("mmbench_en_dev", d, mmb.mmbench_doc_to_text(d, K("mmbench/mmbench_en_dev.yaml")), "mmbench/mmbench_en_dev.yaml")
    add("pope", {"question": " Is there a snowboard in the image? "}, pope.pope_doc_to_text({"question": " Is there a snowboard in the image? "}), "pope/pope.yaml")
    rq = "Which lane?\nA. left\nB. right\nPlease answer directly with only the letter of the correct option and nothing else."
    add("realworldqa", {"question": rq}, rwqa.realworldqa_doc_to_text({"question": rq}, K("realworldqa/realworldqa.yaml")), "realworldqa/realworldqa.yaml")
    out["prompts"] = prompts

    with open(args.out, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
