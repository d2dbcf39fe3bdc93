import { createApp, defineComponent, h, ref } from "vue";
import "dots-flow-element";

const Payouts = defineComponent(() => {
  const status = ref("loading");
  const done = ref([]);
  const error = ref(null);
  // Vue sets `steps` (an array) as the element's property (the element has one), strings as
  // attributes, and turns `onDotsReady` into a `dots-ready` listener (removed on unmount).
  const steps = [{ name: "compliance" }];
  return () =>
    h("section", [
      h("dots-flow", {
        steps,
        theme: "dark",
        "frame-title": "Tax details (Vue)",
        onDotsReady: () => (status.value = "ready"),
        onDotsStepComplete: (event) => done.value.push(`${event.detail.step} ${event.detail.status}`),
        onDotsFlowComplete: (event) => (status.value = `completed ${event.detail.flow.completed_steps.join(",")}`),
        onDotsError: (event) => (error.value = `${event.detail.kind}: ${event.detail.message}`),
      }),
      h("p", { id: "vue-status" }, status.value),
      h("ul", { id: "vue-steps" }, done.value.map((step) => h("li", { key: step }, step))),
      error.value && h("p", { id: "vue-error" }, error.value),
    ]);
});

const App = defineComponent(() => {
  const shown = ref(true);
  return () =>
    h("main", [
      h("h1", "Payouts (Vue)"),
      h("button", { id: "toggle", type: "button", onClick: () => (shown.value = !shown.value) }, shown.value ? "Close" : "Open"),
      shown.value && h(Payouts),
    ]);
});

createApp(App).mount("#app");
