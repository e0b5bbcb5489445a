// lateint's text box (lateint/display/text_box.py): an anywidget front end, ES module.
//
// Why not ipywidgets' Text: its view stops every keydown from bubbling, and JupyterLab reads its
// shortcuts from keydowns that bubble up to the page, so Ctrl+S (Cmd+S) did nothing while the
// cursor was in the box. Here plain typing still stays in the box (so "a" or "b" never reaches the
// notebook's command-mode shortcuts), but a key pressed with Ctrl, Cmd or Alt goes on to the
// application: Ctrl+S saves, as it does everywhere else in JupyterLab.

let boxes = 0; // ids linking each box's label to its input

function render({ model, el }) {
  el.classList.add("widget-inline-hbox", "widget-text", "lateint-text-box"); // ipywidgets' own look
  const id = `lateint-text-box-${++boxes}`;
  const label = document.createElement("label");
  label.className = "widget-label";
  label.htmlFor = id;
  const input = document.createElement("input");
  input.type = "text";
  input.id = id;
  input.className = "widget-input";
  el.append(label, input);

  const show = () => {
    label.textContent = label.title = model.get("description");
    label.style.display = model.get("description") ? "" : "none";
    input.value = model.get("value");
  };
  // the text goes to Python when Enter is pressed or the box loses focus, not at every key
  const commit = () => {
    if (input.value === model.get("value")) return false;
    model.set("value", input.value);
    model.save_changes();
    return true;
  };

  input.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey || event.altKey)) event.stopPropagation();
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      if (!commit()) model.send({ event: "submit" }); // Enter on the text Python already has
    }
  });
  input.addEventListener("change", commit);
  model.on("change:value", show);
  model.on("change:description", show);
  show();
  return () => {
    model.off("change:value", show);
    model.off("change:description", show);
  };
}

export default { render };
