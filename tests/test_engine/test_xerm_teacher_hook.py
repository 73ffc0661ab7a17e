"""XERMTeacherHook and the xERM weight statistics: units, then the tools."""
import glob
import json
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample

from inprocess_tool import run_main, run_main_error
from tiny_xerm import COUNTS, TEACHERS, net, save_teacher, student_cfg
from xerm_mm.engine.hooks import XERMTeacherHook
from xerm_mm.evaluation.metrics import LongTailMetric
from xerm_mm.registry import MODELS
from xerm_mm.utils import checkpoint_safe_globals, register_all_modules
from xerm_mm.utils.model import unwrap_model

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


pytestmark = pytest.mark.usefixtures('one_thread', 'xerm_scope')


# --- units, with a stand-in runner -------------------------------------------


class Log:
    """Collects the messages a hook logs."""

    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)

    warning = info

    def __contains__(self, text):
        return any(text in line for line in self.lines)


class ListSet:
    """``n`` random 16x16 images, labels cycling through the classes."""

    def __init__(self, n, num_classes, counts=None, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.metainfo = dict(classes=tuple(map(str, range(num_classes))))
        if counts is not None:
            self.metainfo['train_class_counts'] = tuple(counts)
        self.items = [
            dict(inputs=torch.randint(0, 256, (3, 16, 16), generator=g,
                                      dtype=torch.uint8),
                 data_samples=DataSample().set_gt_label(i % num_classes))
            for i in range(n)
        ]

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


class Loader(list):
    """Batches of 4 of a :class:`ListSet`, with ``.dataset``."""

    def __init__(self, dataset):
        super().__init__(
            dict(inputs=[d['inputs'] for d in dataset.items[i:i + 4]],
                 data_samples=[d['data_samples']
                               for d in dataset.items[i:i + 4]])
            for i in range(0, len(dataset), 4))
        self.dataset = dataset


class Runner:
    """What the hooks use of MMEngine's Runner."""

    def __init__(self, model, train_set, val_set=None):
        self.model = model
        self.train_dataloader = SimpleNamespace(dataset=train_set)
        self.val_loop = None if val_set is None else SimpleNamespace(
            dataloader=Loader(val_set),
            evaluator=SimpleNamespace(metrics=[LongTailMetric(few_thr=5)]))
        self.logger = Log()
        self.message_hub = MessageHub.get_instance('test_xerm_hooks')
        self.iter, self.epoch = 0, 0


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    register_all_modules(init_default_scope=False)
    root = tmp_path_factory.mktemp('teachers')
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        paths = {
            name: save_teacher(cfg, str(root / f'{name}.pth'), seed=i)
            for i, (name, cfg) in enumerate(TEACHERS.items())
        }
        paths['tde_untrained'] = save_teacher(
            TEACHERS['tde'], str(root / 'untrained.pth'), train_passes=0)
    return paths


def pc_from_xe(ckpts, **kwargs):
    """A PC-teacher student whose teacher checkpoint is XE (no counts)."""
    return MODELS.build(
        student_cfg('pc', ckpts,
                    teacher=dict(config=net('PCHead'),
                                 checkpoint=ckpts['xe']), **kwargs))


@pytest.mark.parametrize('has_loaded', [False, True])
def test_teacher_hook_prepares_pc_teacher_and_inits_student(
        has_loaded, ckpts):
    model = pc_from_xe(ckpts, init_student_from_teacher=True)
    val = ListSet(10, 5, COUNTS, seed=1)
    runner = Runner(model, ListSet(5, 5, COUNTS), val)
    hook = XERMTeacherHook()
    if has_loaded:  # what Runner.load_checkpoint (and resume) call
        hook.after_load_checkpoint(runner, checkpoint={})
    hook.before_train(runner)

    teacher = model.teachers['teacher']
    assert model.teachers_loaded and teacher.head.has_class_counts
    prior = torch.tensor(COUNTS, dtype=torch.float) / sum(COUNTS)
    torch.testing.assert_close(teacher.head.log_prior_train, prior.log())
    copied = all(
        torch.equal(v, teacher.state_dict()[k])
        for k, v in model.state_dict().items())
    assert copied != has_loaded
    assert ('skipped' in runner.logger) == has_loaded
    n = len(model.state_dict())
    assert (f'copied {n} of {n} student tensors' in runner.logger) != (
        has_loaded)
    # The logged teacher accuracy is that of the views on the val set.
    for view in ('imbalanced', 'balanced'):
        preds, gts = [], []
        for b in runner.val_loop.dataloader:
            data = model.data_preprocessor(b, False)
            preds.append(model.teacher_scores(data['inputs'])[view].argmax(1))
            gts += [int(s.gt_label) for s in data['data_samples']]
        r = LongTailMetric.calculate(torch.cat(preds), gts, COUNTS, few_thr=5)
        assert (f'teacher {view} view on the val set (10 images): top1 '
                f'{r["top1"]:.2f}, many / medium / few recall '
                f'{r["many_recall"]:.2f} / {r["medium_recall"]:.2f} / '
                f'{r["few_recall"]:.2f}') in runner.logger


def test_runner_tells_the_teacher_hook_about_load_from(tmp_path):
    """MMEngine's Runner.load_checkpoint (also used by resume) calls the
    public ``after_load_checkpoint`` of the hooks."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner as MMRunner

    class Tiny(BaseModel):

        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, *args, **kwargs):
            return {}

    path = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=Tiny().state_dict(), meta={}), path)
    hook = XERMTeacherHook()
    runner = MMRunner(Tiny(), work_dir=str(tmp_path), custom_hooks=[hook],
                      load_from=path, default_scope='xerm_mm')
    assert not hook.checkpoint_loaded
    runner.load_or_resume()
    assert hook.checkpoint_loaded


def test_teacher_hook_without_val_set_checks_one_training_sample(ckpts):
    model = MODELS.build(student_cfg('tde', ckpts))
    rng = torch.get_rng_state()
    runner = Runner(model, ListSet(3, 5, COUNTS))
    XERMTeacherHook().before_train(runner)
    assert model.teachers_loaded and not runner.logger.lines
    assert torch.equal(torch.get_rng_state(), rng)


BAD = {
    'teacher classes': (dict(head=dict(num_classes=4)), 4, ValueError,
                        'teacher has 5 classes, the training dataset 4'),
    'student classes': (dict(head=dict(num_classes=4)), 5, ValueError,
                        'student head has 4 classes'),
    'untrained TDE': (dict(checkpoint='tde_untrained'), 5, RuntimeError,
                      "TDE teacher's moving average was never updated"),
    'no class counts': (dict(pc_from_xe=True), 5, KeyError,
                        'train_class_counts'),
    'normalisation': (dict(mean=[0., 0., 0.]), 5, ValueError,
                      'normalises its inputs'),
    'not xERM': (dict(plain=True), 5, TypeError, 'needs an XERMClassifier'),
}


@pytest.mark.parametrize('case', list(BAD))
def test_teacher_hook_fails_clearly_before_training(case, ckpts):
    change, num_classes, error, match = BAD[case]
    if change.get('pc_from_xe'):
        model = pc_from_xe(ckpts)
    elif change.get('plain'):
        model = MODELS.build(TEACHERS['xe'])
    else:
        cfg = student_cfg('tde', ckpts)
        if 'head' in change:
            cfg['head'].update(change['head'])
        if 'checkpoint' in change:
            cfg['teacher']['checkpoint'] = ckpts[change['checkpoint']]
        if 'mean' in change:
            cfg['teacher']['config'] = dict(
                TEACHERS['tde'], data_preprocessor=dict(
                    TEACHERS['tde']['data_preprocessor'],
                    mean=change['mean']))
        model = MODELS.build(cfg)
    counts = None if change.get('pc_from_xe') else COUNTS[:num_classes]
    runner = Runner(model, ListSet(3, num_classes, counts))
    with pytest.raises(error, match=match):
        XERMTeacherHook().before_train(runner)


def test_unwrap_model_of_model_wrapper_and_runner():
    model = torch.nn.Linear(2, 2)
    wrapped = torch.nn.DataParallel(model)  # in MMEngine's MODEL_WRAPPERS
    assert unwrap_model(model) is model
    assert unwrap_model(wrapped) is model
    assert unwrap_model(SimpleNamespace(model=wrapped)) is model
    assert unwrap_model(SimpleNamespace(model=model)) is model
    # tools/test.py --tta: a TTA model around a DDP wrapper (when the model
    # is distributed, the runner wraps the TTA model).
    from mmpretrain.models import AverageClsScoreTTA
    classifier = ImageClassifier(backbone=dict(type='ResNet32'))
    tta = AverageClsScoreTTA(module=classifier)
    assert unwrap_model(tta) is classifier
    assert unwrap_model(SimpleNamespace(model=tta)) is classifier
    assert unwrap_model(torch.nn.DataParallel(tta)) is classifier


# --- end to end through tools/train.py and tools/test.py ---------------------

CONFIG = osp.join(ROOT, 'configs', 'xerm',
                  'xerm-tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py')
# As tests/test_tools/test_train_test.py, on CIFAR-10 (20 train / 8 test images a class).
SMALL = [
    'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'train_dataloader.dataset.imbalance_ratio=10',
    'val_dataloader.dataset.train_imbalance_ratio=10',
    'test_dataloader.dataset.train_imbalance_ratio=10',
    'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
    'train_cfg.max_epochs=1', 'train_dataloader.dataset.type=CIFAR10LT',
    'val_dataloader.dataset.type=CIFAR10LT',
    'test_dataloader.dataset.type=CIFAR10LT',
    'train_dataloader.dataset.images_per_class.train=20',
    'train_dataloader.dataset.images_per_class.test=8',
    'val_dataloader.dataset.images_per_class.train=20',
    'val_dataloader.dataset.images_per_class.test=8',
    'test_dataloader.dataset.images_per_class.train=20',
    'test_dataloader.dataset.images_per_class.test=8'
]
# The TDE teacher (and the student network): 10 classes, 1/1/1 blocks.
TEACHER_CONFIG = """_base_ = 'xerm_mm::tde/tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
model = dict(
    backbone=dict(stage_blocks=(1, 1, 1)),
    head=dict(num_classes={classes}),
    data_preprocessor=dict(num_classes=10))
"""
STUDENT = [
    'model.head.num_classes=10', 'model.data_preprocessor.num_classes=10',
    'model.backbone.stage_blocks=(1,1,1)'
]


# The block the xERM configs carry (docs/methods.md): the loss logs w_imba and
# w_ba every iteration; LogProcessor adds their mean / min / max over the
# epoch's iterations so far, and the epoch's last iteration is always logged.
XERM_LOG_BLOCK = """
log_processor = dict(custom_cfg=[
    dict(data_src=weight, log_name=f'{weight}_epoch_{stat}',
         method_name=stat, window_size='epoch')
    for weight in ('w_imba', 'w_ba') for stat in ('mean', 'min', 'max')
])
default_hooks = dict(logger=dict(ignore_last=False))
"""


@pytest.mark.parametrize(
    'path',
    sorted(glob.glob(osp.join(ROOT, 'configs', 'xerm', '*.py'))),
    ids=osp.basename)
def test_xerm_configs_log_the_weight_statistics(path):
    cfg = Config.fromfile(path)
    block = Config.fromstring(XERM_LOG_BLOCK, '.py')
    assert cfg.log_processor.custom_cfg == block.log_processor.custom_cfg
    assert cfg.default_hooks.logger.ignore_last is False
    assert 'XERMWeightStatsHook' not in [
        h.type.split('.')[-1] for h in cfg.custom_hooks]


@pytest.fixture(scope='module')
def trained(fake_cifar10_root, tmp_path_factory):
    """A TDE teacher trained 1 epoch, then an xERM-TDE student 1 epoch."""
    root = tmp_path_factory.mktemp('xerm')
    configs = {}
    for classes in (10, 100):
        configs[classes] = str(root / f'tde{classes}.py')
        with open(configs[classes], 'w') as f:
            f.write(TEACHER_CONFIG.format(classes=classes))
    data = ['--data-root', fake_cifar10_root]
    run_main('train', configs[10], *data, '--work-dir', root / 'teacher',
             '--cfg-options', *SMALL)
    teacher = str(root / 'teacher' / 'epoch_1.pth')
    student = STUDENT + [f'model.teacher.config={configs[10]}']
    student_config = str(root / 'xerm.py')
    with open(student_config, 'w') as f:
        f.write(f'_base_ = {CONFIG!r}\n{XERM_LOG_BLOCK}')
    _, log = run_main('train', student_config, *data, '--work-dir',
                      root / 'student', '--cfg-options', *SMALL, *student,
                      f'model.teacher.checkpoint={teacher}')
    return SimpleNamespace(
        root=root, data=data, configs=configs, teacher=teacher,
        student_options=student, log=log,
        student=str(root / 'student' / 'epoch_1.pth'))


def _logged(line, key):
    return float(re.search(rf'\b{key}: ([-0-9.e]+)', line).group(1))


@pytest.mark.slow
def test_student_log_has_teacher_accuracy_and_weight_stats(trained):
    log = trained.log
    first_step = log.index('Epoch(train) [1][1/5]')
    for view in ('imbalanced', 'balanced'):
        at = log.index(f'xERM teacher {view} view on the val set (80 '
                       'images): top1 ')
        assert at < first_step
    assert 'w_imba: ' in log and 'w_ba: ' in log
    # Per-epoch statistics through LogProcessor's custom_cfg: on the line of
    # the epoch's last iteration, over the 5 iterations' logged values.
    lines = [
        next(line for line in log.splitlines()
             if f'Epoch(train) [1][{i}/5]' in line) for i in range(1, 6)
    ]
    for name in ('w_imba', 'w_ba'):
        values = [_logged(line, name) for line in lines]
        stats = dict(mean=sum(values) / 5, min=min(values), max=max(values))
        for stat, value in stats.items():
            got = _logged(lines[-1], f'{name}_epoch_{stat}')
            assert abs(got - value) < 1e-4, (name, stat, got, value)
    # ... and in the scalars the visualizer's backends get.
    scalars = glob.glob(
        str(trained.root / 'student' / '*' / 'vis_data' / 'scalars.json'))
    with open(scalars[0]) as f:
        last = [json.loads(line) for line in f if '"w_ba"' in line][-1]
    assert last['step'] == 5
    assert {'w_ba_epoch_mean', 'w_imba_epoch_max'} <= set(last)


@pytest.mark.slow
def test_student_checkpoint_holds_no_teacher(trained):
    with checkpoint_safe_globals():
        student = torch.load(trained.student)['state_dict']
        teacher = torch.load(trained.teacher)['state_dict']
    # The student has the teacher's architecture, and nothing more.
    assert set(student) == set(teacher)
    assert not any('teacher' in key for key in student)


@pytest.mark.slow
def test_student_tests_without_teacher_files(trained, tmp_path):
    _, log = run_main('test', CONFIG, trained.student, *trained.data,
                      '--work-dir', tmp_path, '--test-sets', 'balanced',
                      '--cfg-options', *SMALL, *trained.student_options,
                      f'model.teacher.checkpoint={tmp_path / "gone.pth"}')
    table = [line for line in log.splitlines() if line.startswith('| ')]
    assert table[0].startswith('| test set | top1 |')
    assert [row.split('|')[1].strip() for row in table[1:]] == ['balanced']


@pytest.mark.parametrize('bad', ['missing checkpoint', 'wrong classes'])
@pytest.mark.slow
def test_bad_teacher_fails_before_training(bad, trained, tmp_path):
    if bad == 'missing checkpoint':
        config, ckpt = trained.configs[10], str(tmp_path / 'nope.pth')
        messages = ['nope.pth', 'model.teacher.checkpoint=PATH']
    else:
        config, ckpt = trained.configs[100], trained.teacher
        messages = ['another number of classes', 'head.weight']
    error, log = run_main_error(
        'train', CONFIG, *trained.data, '--work-dir', tmp_path,
        '--cfg-options', *SMALL, *STUDENT, f'model.teacher.config={config}',
        f'model.teacher.checkpoint={ckpt}')
    log += str(error)
    for message in messages:
        assert message in log
    assert 'Epoch(train)' not in log
