import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { getBridge } from "./bridge/index.js";
import { App } from "./components/App.js";
import { ControllerContext } from "./components/context.js";
import { DuetController } from "./controller.js";
import "./styles.css";

const controller = new DuetController(getBridge());
void controller.start();
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ControllerContext.Provider value={controller}>
      <App />
    </ControllerContext.Provider>
  </StrictMode>,
);
