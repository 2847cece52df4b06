"""A small always-on-top window that shows the screen bot's last guess (Tk).

The play loop owns the event loop, so the window has no mainloop of its own: the loop calls
``pump()`` between frames. It sits in the screen's bottom-right corner, outside the usual
panorama region; closing it only hides the display; play goes on.

Usage::

    win = GuessWindow()
    win.show("round 1: guess 48.85, 2.35 FR  projected 3120 pts")
    win.pump()   # call often
"""

from __future__ import annotations


class GuessWindowError(RuntimeError):
    """Tk is missing or no display can be opened."""


class GuessWindow:
    def __init__(self, title: str = "pigeon-bot") -> None:
        try:
            import tkinter as tk
        except ImportError as exc:
            raise GuessWindowError("the --window display needs Tk (python3-tk); play goes on "
                                   "without --window") from exc
        try:
            self.root = tk.Tk()
        except tk.TclError as exc:
            raise GuessWindowError(f"cannot open the guess window: {exc}") from exc
        self._tcl_error = tk.TclError
        self.root.title(title)
        self.root.attributes("-topmost", True)
        self.root.resizable(False, False)
        self.label = tk.Label(self.root, text="pigeon-bot: waiting for a round…", justify="left",
                              anchor="w", padx=10, pady=6, font=("TkFixedFont", 11))
        self.label.pack(fill="both")
        # bottom-right corner, away from the panorama the bot is capturing
        self.root.geometry("-10-10")
        self.closed = False
        self.root.protocol("WM_DELETE_WINDOW", self.close)
        self.pump()

    @property
    def text(self) -> str:
        return str(self.label.cget("text"))

    def show(self, text: str) -> None:
        if not self.closed:
            self.label.config(text=text)
            self.pump()

    def pump(self) -> None:
        """Process pending window events (call between frames)."""
        if self.closed:
            return
        try:
            self.root.update()
        except self._tcl_error:
            self.closed = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.root.destroy()
