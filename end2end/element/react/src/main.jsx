import { useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import "dots-flow-element";

function Payouts() {
  const flow = useRef(null);
  const [status, setStatus] = useState("loading");
  const [done, setDone] = useState([]);
  const [error, setError] = useState(null);
  useEffect(() => {
    const element = flow.current;
    const handlers = {
      "dots-ready": () => setStatus("ready"),
      "dots-step-complete": (event) => setDone((steps) => [...steps, `${event.detail.step} ${event.detail.status}`]),
      "dots-flow-complete": (event) => setStatus(`completed ${event.detail.flow.completed_steps.join(",")}`),
      "dots-error": (event) => setError(`${event.detail.kind}: ${event.detail.message}`),
    };
    for (const [name, handler] of Object.entries(handlers)) element.addEventListener(name, handler);
    return () => {
      for (const [name, handler] of Object.entries(handlers)) element.removeEventListener(name, handler);
    };
  }, []);
  return (
    <section>
      {/* React 19 sets `steps` (an array) as the element's property, strings as attributes. */}
      <dots-flow ref={flow} steps={[{ name: "compliance" }]} theme="dark" frame-title="Tax details (React)" />
      <p id="react-status">{status}</p>
      <ul id="react-steps">{done.map((step) => <li key={step}>{step}</li>)}</ul>
      {error && <p id="react-error">{error}</p>}
    </section>
  );
}

function App() {
  const [shown, setShown] = useState(true);
  return (
    <main>
      <h1>Payouts (React)</h1>
      <button id="toggle" type="button" onClick={() => setShown((s) => !s)}>{shown ? "Close" : "Open"}</button>
      {shown && <Payouts />}
    </main>
  );
}

createRoot(document.getElementById("root")).render(<App />);
