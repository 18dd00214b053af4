"Everything a notebook needs: `from spade_fastai.all import *`, like `fastai.vision.all`."
import warnings
with warnings.catch_warnings():  # fastai's import warns about its own use of torch.jit.script
    warnings.filterwarnings('ignore', message='.*torch.jit.script.*', category=FutureWarning)
    from fastai.vision.all import *
from .core import *
from .data import *
from .scenes import *
from .layers import *
from .generator import *
from .discriminator import *
from .pretrained import *
from .losses import *
from .learner import *
from .oasis import *
from .inference import *
from .distributed import *
from .official import *
from .metrics import *
from .testing import *
from .paint import *
