"""What the one-folder app leaves out, on Linux, Windows and macOS alike (used by installer/terrafind.spec).

PySide6's wheels carry all of Qt; the app loads a fraction. The same parts are dropped on every system, matched
by the names each system's wheel uses (read from the PySide6 6.12 wheels):

=============  ==============================  ===========================  ==================================
what           Linux                           Windows                      macOS
=============  ==============================  ===========================  ==================================
a Qt module    PySide6/Qt/lib/libQt6Charts.so  PySide6/Qt6Charts.dll        PySide6/Qt/lib/QtCharts.framework/
QML            PySide6/Qt/qml/                 PySide6/qml/                 PySide6/Qt/qml/
translations   PySide6/Qt/translations/        PySide6/translations/        PySide6/Qt/translations/
web locales    .../qtwebengine_locales/*.pak   (same)                       QtWebEngineCore.framework/
                                                                            Resources/qtwebengine_locales/
=============  ==============================  ===========================  ==================================

QtWebEngine keeps its process, ``icudtl.dat``, its resources and the en-US locale; the devtools resources and
Windows' ``*.debug.pak`` copies go.
"""

from __future__ import annotations

import re

__all__ = ["keep", "UNUSED_QT"]

UNUSED_QT = (
    "3D|Quick3D|Charts|DataVisualization|Graphs|Multimedia|Location|Sensors|Scxml|RemoteObjects"
    "|SpatialAudio|TextToSpeech|Labs|QuickControls2|QuickDialogs2|QuickTemplates2|Pdf|Designer|Help"
    "|Bluetooth|Nfc|SerialPort|SerialBus|Test3D|VirtualKeyboard|ShaderTools|Sql|Concurrent3D|WebView"
    "|HttpServer|Protobuf|Grpc|QuickParticles|QuickShapes|QuickTest|QuickTimeline|QuickVectorImage"
    "|QmlDesignSupport|QmlLocalStorage|QmlXmlListModel|StateMachine|WaylandCompositor|WebEngineQuick"
    "|WebChannelQuick|PositioningQuick|QuickEffects|QuickLayouts"
)
# A path component naming an unused Qt module: libQt6Charts.so.6, Qt6Charts.dll, QtCharts.framework,
# QtCharts.abi3.so (its Python binding).
_UNUSED = re.compile(rf"(?:^|/)(?:lib)?Qt6?(?:{UNUSED_QT})[^/]*(?:/|$)")
_FLIGHT = re.compile(r"arrow(?:_python)?_flight")  # Arrow Flight (RPC): never used, 33 MB


def keep(dest: str) -> bool:
    """True when the bundle keeps the file that lands at ``dest`` (a path inside the app folder)."""
    dest = dest.replace("\\", "/")
    name = dest.rsplit("/", 1)[-1]
    if "/qtwebengine_locales/" in dest:
        return name == "en-US.pak"
    if dest.startswith(("PySide6/qml/", "PySide6/Qt/qml/")) or "/qmltooling/" in dest:
        return False
    if dest.startswith(("PySide6/translations/", "PySide6/Qt/translations/")):
        return False
    if name.startswith("qtwebengine_devtools_resources") or name.endswith(".debug.pak"):
        return False
    if "/platformthemes/" in dest:  # the GTK theme plugin (Linux): pulls in GTK, never used
        return False
    if _UNUSED.search(dest):
        return False
    return not _FLIGHT.search(name)
