"""skl2onnx converters for sktune's estimators: ``skl2onnx.to_onnx`` converts a fitted
sktune estimator — or a Pipeline / ColumnTransformer ending in one — as it converts
scikit-learn's MLP.

Each converter exports :func:`~sktune.export.export_module` (the estimator's input
layout, network and output decoding) with ``torch.onnx``'s TorchScript-based exporter,
which runs offline and needs no extra package, and splices that graph into the
skl2onnx graph between a cast of the input to the network's dtype and the usual
classifier tail (labels from ``classes_``, probabilities, optional ZipMap). The batch
axis is dynamic; so is the time axis of an RNN fitted on 3-D sequences.

This module imports skl2onnx; :func:`sktune.export.register_onnx_converters` (run when
skl2onnx is first imported after sktune, see :mod:`sktune.export._hook`) registers it.
"""

import io
import warnings

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from skl2onnx import update_registered_converter
from skl2onnx.common._apply_operation import apply_cast
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
    guess_proto_type,
)
from skl2onnx.common.utils import check_input_and_output_numbers
from skl2onnx.proto import onnx_proto

from sktune.export._module import (
    NotExportableError,
    check_exportable,
    export_module,
    sample_shape,
)

#: the highest opset torch's TorchScript-based exporter writes; a higher target opset
#: gets the network's graph upgraded with onnx's version converter
_TORCH_MAX_OPSET = 20
#: scikit-learn classifiers' conversion options: ZipMap or not, class labels as an extra
#: output, class indices instead of labels (nocl)
_CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "output_class_labels": [False, True],
                       "nocl": [False, True]}


def _float_type(input_type):
    """The tensor type of the outputs: double for double input, else float (as
    skl2onnx's scikit-learn converters do)."""
    return DoubleTensorType if isinstance(input_type, DoubleTensorType) else FloatTensorType


def _label_kind(scope, est):
    """``("int64" | "string", values)``: how ``classes_`` become ONNX labels (their
    indices with the ``nocl`` option)."""
    classes = np.asarray(est.classes_)
    if scope.get_options(est, dict(nocl=False))["nocl"]:
        return "int64", np.arange(len(classes), dtype=np.int64)
    if classes.dtype.kind in "iub":
        return "int64", classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if not np.all(classes == np.round(classes)):
            raise NotExportableError(
                f"class labels {classes.tolist()} are non-integer floats; ONNX labels are "
                "int64 or strings. Fit on integer or string labels to export.")
        return "int64", classes.astype(np.int64)
    return "string", np.array([str(c) for c in classes], dtype=object)


def _n_columns(est):
    """Columns of the probabilities (classifiers) or predictions (regressors)."""
    if hasattr(est, "classes_"):
        return len(est.classes_)
    return int(est.n_outputs_)


def _check_input(operator):
    check_input_and_output_numbers(operator, input_count_range=1,
                                   output_count_range=[1, 2])
    input_type = operator.inputs[0].type
    if not isinstance(input_type, (FloatTensorType, DoubleTensorType, Int64TensorType)):
        raise NotExportableError(f"{type(operator.raw_operator).__name__} takes float or "
                                 f"int64 tensors in ONNX, got {type(input_type).__name__}.")


def calculate_classifier_shapes(operator):
    """Labels ``[N]`` (``[N, n_labels]`` for multilabel) and probabilities
    ``[N, n_classes]``."""
    _check_input(operator)
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    kind, _ = _label_kind(operator.scope_inst, est)
    label_shape = [n, len(est.classes_)] if est._target_kind_ == "multilabel" else [n]
    multilabel = est._target_kind_ == "multilabel"
    label_type = Int64TensorType if kind == "int64" or multilabel else StringTensorType
    operator.outputs[0].type = label_type(shape=label_shape)
    operator.outputs[1].type = _float_type(operator.inputs[0].type)(
        shape=[n, _n_columns(est)])


def calculate_regressor_shapes(operator):
    """Predictions ``[N, n_outputs]``."""
    _check_input(operator)
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _float_type(operator.inputs[0].type)(shape=[n, _n_columns(est)])


def _network_graph(est, opset):
    """The exported :class:`EstimatorModule` of ``est`` as an ONNX model at ``opset``:
    input ``x`` (the network's dtype), output ``y``."""
    module = export_module(est)
    shape = sample_shape(est)
    dtype = module.members[0].prepare.dtype
    example = torch.zeros((2,) + tuple(3 if s is None else s for s in shape), dtype=dtype)
    dynamic = {"x": {0: "N"}, "y": {0: "N"}}
    if None in shape:
        dynamic["x"][1 + shape.index(None)] = "T"
    buffer = io.BytesIO()
    torch_opset = min(opset, _TORCH_MAX_OPSET)
    with warnings.catch_warnings():  # the legacy exporter's deprecation, tracer notes
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, (example,), buffer, dynamo=False,
                              opset_version=torch_opset, input_names=["x"],
                              output_names=["y"], dynamic_axes=dynamic,
                              do_constant_folding=True)
        except Exception as exc:  # an op torch's ONNX exporter cannot write
            raise NotExportableError(
                f"torch.onnx could not export the network of {type(est).__name__}: "
                f"{str(exc).splitlines()[0][:300]} (sktune.export.to_torchscript or "
                "to_exported_program may still save it for torch serving).") from exc
    model = onnx.load_from_string(buffer.getvalue())
    if torch_opset < opset:
        from onnx import version_converter

        model = version_converter.convert_version(model, opset)
    return model, dtype


def _splice(scope, container, graph, x_name, y_name, prefix):
    """Copy ``graph``'s initializers and nodes into ``container``, its input read from
    ``x_name`` and its output written to ``y_name``; every other name gets ``prefix``."""
    names = {graph.input[0].name: x_name, graph.output[0].name: y_name, "": ""}
    rename = lambda name: names.setdefault(name, f"{prefix}{name}")  # noqa: E731
    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        container.add_initializer(rename(tensor.name), None, None,
                                  numpy_helper.from_array(array, rename(tensor.name)))
    for node in graph.node:
        attrs = {}
        for attr in node.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise NotExportableError(f"the exported network has a {node.op_type} node "
                                         "with a sub-graph, which sktune does not splice.")
            attrs[attr.name] = helper.get_attribute_value(attr)
        inputs = [rename(i) for i in node.input]
        while inputs and inputs[-1] == "":  # trailing optional inputs: just leave out
            inputs.pop()
        if node.op_type in _RECURRENT and len(inputs) > 4 and inputs[4] == "":
            inputs[4] = _full_lengths(scope, container, inputs[0], attrs.get("layout", 0))
        if node.op_type == "Resize":  # roi and scales, left out beside sizes: empty
            inputs = [i or _empty_float(scope, container) for i in inputs]
        if "" in inputs:  # skl2onnx's topological sort reads "" as a missing name
            raise NotExportableError(f"the exported network has a {node.op_type} node with "
                                     "an omitted optional input, which sktune cannot "
                                     "splice into the skl2onnx graph.")
        container.add_node(node.op_type, inputs, [rename(o) for o in node.output],
                           op_domain=node.domain or "",
                           name=scope.get_unique_operator_name(f"{prefix}{node.op_type}"),
                           **attrs)


def _empty_float(scope, container):
    """An empty float tensor: what Resize reads as "no roi" / "no scales" (the spec
    allows it where the input is left out)."""
    name = scope.get_unique_variable_name("empty")
    container.add_initializer(name, onnx_proto.TensorProto.FLOAT, [0], [])
    return name


#: ONNX's recurrent ops, whose 5th input (sequence_lens) torch leaves out
_RECURRENT = ("LSTM", "GRU", "RNN")


def _full_lengths(scope, container, x_name, layout):
    """``sequence_lens`` of a recurrent op when every sequence has all the steps of its
    input (what an omitted ``sequence_lens`` means): ``[T] * N`` as int32."""
    time_axis, batch_axis = (1, 0) if layout else (0, 1)
    name = lambda seed: scope.get_unique_variable_name(seed)  # noqa: E731
    shape, steps, rows = name("rnn_shape"), name("rnn_steps"), name("rnn_rows")
    time_index, batch_index = name("time_axis"), name("batch_axis")
    lengths, lengths32 = name("rnn_lengths64"), name("rnn_lengths")
    container.add_initializer(time_index, onnx_proto.TensorProto.INT64, [], [time_axis])
    container.add_initializer(batch_index, onnx_proto.TensorProto.INT64, [1], [batch_axis])
    op = scope.get_unique_operator_name
    container.add_node("Shape", x_name, shape, name=op("Shape"))
    container.add_node("Gather", [shape, time_index], steps, axis=0, name=op("Gather"))
    container.add_node("Gather", [shape, batch_index], rows, axis=0, name=op("Gather"))
    container.add_node("Expand", [steps, rows], lengths, name=op("Expand"))
    apply_cast(scope, lengths, lengths32, container, to=onnx_proto.TensorProto.INT32)
    return lengths32


def _network(scope, operator, container):
    """Cast the input, splice the network; returns ``(output name, its proto dtype)``."""
    est = operator.raw_operator
    model, dtype = _network_graph(est, container.target_opset)
    proto = onnx_proto.TensorProto.DOUBLE if dtype == torch.float64 else \
        onnx_proto.TensorProto.FLOAT
    x_name = scope.get_unique_variable_name("sktune_input")
    apply_cast(scope, operator.inputs[0].full_name, x_name, container, to=proto)
    y_name = scope.get_unique_variable_name("sktune_output")
    prefix = scope.get_unique_variable_name(f"sktune_{type(est).__name__}") + "/"
    _splice(scope, container, model.graph, x_name, y_name, prefix)
    return y_name, proto


def convert_classifier(scope, operator, container):
    """Labels (``predict``) and probabilities (``predict_proba``) of a classifier."""
    est = operator.raw_operator
    proba, proto = _network(scope, operator, container)
    out_proto = guess_proto_type(operator.outputs[1].type)
    apply_cast(scope, proba, operator.outputs[1].full_name, container, to=out_proto)
    label = operator.outputs[0].full_name
    if est._target_kind_ == "multilabel":  # predict: (proba > 0.5).astype(int)
        half = scope.get_unique_variable_name("half")
        container.add_initializer(half, proto, [], [0.5])
        above = scope.get_unique_variable_name("above")
        container.add_node("Greater", [proba, half], above,
                           name=scope.get_unique_operator_name("Greater"))
        apply_cast(scope, above, label, container, to=onnx_proto.TensorProto.INT64)
        return
    kind, classes = _label_kind(scope, est)
    classes_name = scope.get_unique_variable_name("classes")
    if kind == "int64":
        container.add_initializer(classes_name, onnx_proto.TensorProto.INT64,
                                  list(classes.shape), classes.tolist())
    else:
        container.add_initializer(classes_name, onnx_proto.TensorProto.STRING,
                                  list(classes.shape), [c.encode("utf-8") for c in classes])
    # argmax over the network's own probabilities (before any cast to float32, which
    # could tie two classes that predict tells apart)
    index = scope.get_unique_variable_name("class_index")
    container.add_node("ArgMax", proba, index, axis=1, keepdims=0,
                       name=scope.get_unique_operator_name("ArgMax"))
    container.add_node("Gather", [classes_name, index], label, axis=0,
                       name=scope.get_unique_operator_name("Gather"))


def convert_regressor(scope, operator, container):
    """Predictions ``(N, n_outputs)`` (``predict``, as a column for one output)."""
    values, _ = _network(scope, operator, container)
    apply_cast(scope, values, operator.outputs[0].full_name, container,
               to=guess_proto_type(operator.outputs[0].type))


def _checked(parser, check=check_exportable):
    """``parser``, after :func:`check_exportable`: an estimator that cannot be exported
    (unfitted, fitted on token ids or ragged signals, a text or Hugging Face model) fails
    with its reason before skl2onnx looks at it."""
    def parse(scope, model, inputs, custom_parsers=None):
        check(model)
        return parser(scope, model, inputs, custom_parsers=custom_parsers)

    return parse


def register(classes=()):
    """Register the converters of every exportable sktune estimator (and of ``classes``,
    subclasses of them: skl2onnx looks converters up by exact class), and parsers that
    refuse the others with their reason, in skl2onnx. Idempotent."""
    # skl2onnx's own parsers for classifiers (labels, probabilities, ZipMap) and other
    # models: the ones update_registered_converter installs, wrapped by _checked
    from sklearn.base import ClassifierMixin

    from sktune._cnn import CNNClassifier, CNNRegressor
    from sktune._compat import skl2onnx_parsers
    from sktune._mlp import MLPClassifier, MLPRegressor
    from sktune._rnn import RNNClassifier, RNNRegressor
    from sktune._text import TextSequencer
    from sktune.transfer import (
        FineTuneClassifier,
        FineTuneRegressor,
        PretrainedEmbedder,
        TransformerClassifier,
        TransformerRegressor,
    )

    _parse_sklearn_classifier, _parse_sklearn_simple_model = skl2onnx_parsers()
    classes = [
        MLPClassifier, CNNClassifier, RNNClassifier, FineTuneClassifier,
        MLPRegressor, CNNRegressor, RNNRegressor, FineTuneRegressor,
        # refused by check_exportable, with the reason
        TextSequencer, TransformerClassifier, TransformerRegressor, PretrainedEmbedder,
    ] + list(classes)
    for cls in classes:
        alias = f"Sktune{cls.__name__}" if cls.__module__.startswith("sktune.") else \
            f"Sktune:{cls.__module__}.{cls.__qualname__}"
        if issubclass(cls, ClassifierMixin):
            update_registered_converter(
                cls, alias, calculate_classifier_shapes, convert_classifier,
                options=_CLASSIFIER_OPTIONS, overwrite=True,
                parser=_checked(_parse_sklearn_classifier))
        else:
            update_registered_converter(
                cls, alias, calculate_regressor_shapes, convert_regressor, overwrite=True,
                parser=_checked(_parse_sklearn_simple_model))
    _register_ensembles(_parse_sklearn_classifier, _parse_sklearn_simple_model)


def _register_ensembles(parse_classifier, parse_regressor):
    """Seed ensembles: their members' converters, averaged (:mod:`._ensemble`)."""
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from sktune._ensemble import SeedEnsembleClassifier, SeedEnsembleRegressor
    from sktune.export._ensemble import (
        check_members,
        convert_ensemble_classifier,
        convert_ensemble_regressor,
    )

    update_registered_converter(
        SeedEnsembleClassifier, "SktuneSeedEnsembleClassifier",
        calculate_linear_classifier_output_shapes, convert_ensemble_classifier,
        options=_CLASSIFIER_OPTIONS, overwrite=True,
        parser=_checked(parse_classifier, check_members))
    update_registered_converter(
        SeedEnsembleRegressor, "SktuneSeedEnsembleRegressor",
        calculate_linear_regressor_output_shapes, convert_ensemble_regressor,
        overwrite=True, parser=_checked(parse_regressor, check_members))
