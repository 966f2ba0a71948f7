import{a1 as s}from"./DvARfRwl.js";const t=s("/favicon.svg");export{t as _};
